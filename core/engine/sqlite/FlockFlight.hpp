// Single flight on one machine (the SQLite engine's): flock(2) on a lock file per key.
//
// Each key has a lock file in the flights directory, locked with flock(2) so that the kernel
// releases it when its holder dies. The leader writes its result into the file, unlinks it,
// then releases the lock: a follower that then holds the lock on an unlinked file reads the
// result through its descriptor; one that holds it on a still-linked file knows the leader went
// away without a result (it died, was interrupted, or found the result already stored) and
// leads in its place. Waiting touches no store lock. A leader that was killed leaves its file;
// the next run of its key reuses it, and every leader that ends removes the ones nobody holds.
// The directory and the lock files are refused unless only the user can write them
// (require_safe): a result read from them is replayed as the user's own.
#pragma once

#include "engine/Flight.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace cacheman::sqlite {

class FlockFlight final : public engine::Flight {
  public:
    // Joins the flight for `key` in `directory` (created 0700 when missing); with `wait`, blocks
    // until a leader finishes, else returns nullptr when another process leads. Throws
    // StoreError when the directory or the lock file is not safe (Posix.hpp).
    static std::unique_ptr<FlockFlight> enter(const std::string& directory, const std::string& key,
                                              bool wait);
    ~FlockFlight() override; // releases the lock (without publishing)

    [[nodiscard]] Role role() const override { return m_role; }
    [[nodiscard]] const std::string& result() const override { return m_result; }
    void publish(std::string_view bytes) override;

    FlockFlight(int fd, std::string path, Role role, std::string result);

  private:
    // Unlinks the lock file, releases the lock, then removes the lock files of dead leaders.
    void end() noexcept;

    int m_fd;
    std::string m_path;
    Role m_role;
    std::string m_result;
};

class FlockFlights final : public engine::Flights {
  public:
    explicit FlockFlights(std::string directory) : m_directory(std::move(directory)) {}
    std::unique_ptr<engine::Flight> join(const std::string& key) override;
    std::unique_ptr<engine::Flight> try_lead(const std::string& key) override;

  private:
    std::string m_directory;
};

} // namespace cacheman::sqlite
