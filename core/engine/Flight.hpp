// Single flight for memoized commands: of all the processes that run the same key at once, one
// (the leader) executes the command; the others (followers) wait for it and receive its result.
// Each engine provides its own (engine/sqlite/FlockFlight.hpp: flock on a lock file).
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace cacheman::engine {

class Flight {
  public:
    enum class Role { leader, follower };
    virtual ~Flight() = default;
    Flight() = default;
    Flight(const Flight&) = delete;
    Flight& operator=(const Flight&) = delete;

    [[nodiscard]] virtual Role role() const = 0;
    // For a follower: the bytes the leader published.
    [[nodiscard]] virtual const std::string& result() const = 0;
    // For the leader: hands `bytes` to the followers and ends the flight. Destroying a leader's
    // flight without publishing ends it with no result: a follower then leads in its place.
    virtual void publish(std::string_view bytes) = 0;
};

// A flight that leads alone, with nobody to publish to: for a store no other process can reach
// (in memory), or one whose single flight this process may not take part in.
class SoloFlight final : public Flight {
  public:
    [[nodiscard]] Role role() const override { return Role::leader; }
    [[nodiscard]] const std::string& result() const override { return m_none; }
    void publish(std::string_view) override {}

  private:
    std::string m_none;
};

class Flights {
  public:
    virtual ~Flights() = default;
    Flights() = default;
    Flights(const Flights&) = delete;
    Flights& operator=(const Flights&) = delete;

    // Joins the flight for `key`: returns as leader at once when no other process leads;
    // otherwise blocks until the leader finishes. Throws StoreError when the flight cannot be
    // joined, Interrupted when a signal ends the wait.
    virtual std::unique_ptr<Flight> join(const std::string& key) = 0;
    // Like join, but never waits: nullptr when another process leads the flight.
    virtual std::unique_ptr<Flight> try_lead(const std::string& key) = 0;
};

} // namespace cacheman::engine
