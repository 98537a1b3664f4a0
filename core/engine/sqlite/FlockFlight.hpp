// Single flight for memoized commands: of all the processes that run the same key at once, one
// (the leader) executes the command; the others (followers) wait for it and receive its result.
//
// Each key has a lock file in the flights directory, locked with flock(2) so that the kernel
// releases it when its holder dies. The leader writes its result into the file, unlinks it,
// then releases the lock: a follower that then holds the lock on an unlinked file reads the
// result through its descriptor; one that holds it on a still-linked file knows the leader went
// away without a result (it died, was interrupted, or found the result already stored) and
// leads in its place. Waiting touches no store lock.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cacheman {

class Flight {
  public:
    enum class Role { leader, follower };

    // Joins the flight for `key`, creating `directory` (0700) when missing. Returns as leader at
    // once when no other process leads; otherwise blocks until the leader finishes. Throws
    // StoreError when the lock file cannot be used, Interrupted when a signal ends the wait.
    static Flight join(const std::string& directory, const std::string& key);
    // Like join, but never waits: nullopt when another process leads the flight.
    static std::optional<Flight> try_lead(const std::string& directory, const std::string& key);

    Flight(Flight&& other) noexcept;
    Flight& operator=(Flight&&) = delete;
    Flight(const Flight&) = delete;
    Flight& operator=(const Flight&) = delete;
    ~Flight(); // releases the lock (without publishing)

    [[nodiscard]] Role role() const { return m_role; }
    // For a follower: the bytes the leader published.
    [[nodiscard]] const std::string& result() const { return m_result; }
    // For the leader: hands `bytes` to the followers and releases the flight.
    void publish(std::string_view bytes);

  private:
    Flight(int fd, std::string path, Role role, std::string result);
    static std::optional<Flight> enter(const std::string& directory, const std::string& key,
                                       bool wait);
    int m_fd;
    std::string m_path;
    Role m_role;
    std::string m_result;
};

} // namespace cacheman
