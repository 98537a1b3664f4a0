// Single flight across machines (the PostgreSQL engine's): a lease row per key in
// cacheman.leases, the counterpart of sqlite/FlockFlight's lock file.
//
// A leader inserts the row (or takes over one that is finished or past its expiry) naming
// itself as holder, and renews the expiry from a background thread while it runs: a leader that
// dies stops renewing, and after k_lease_seconds the next process to join leads in its place
// (where flock has the kernel release the lock of a dead holder, a server cannot know whether a
// client on another machine is still working). Publishing stores the result in the row and
// marks it finished; destroying a leader without publishing deletes the row. A follower polls
// the row of the holder it found until that holder finishes (it takes the result), goes away or
// lets its lease expire (it joins again, and may lead). An empty result is no result, as with
// FlockFlight: the follower joins again.
//
// Every lease statement runs on a connection of the flights' own, each in a transaction of its
// own (autocommit): the engine's connection may be inside a caller's transaction, and a lease
// must be seen by other processes at once; that connection is made again when it is lost.
// Times are the server's clock, which every machine shares. Finished rows stay
// k_result_seconds for slow followers; every leader that ends removes the rows past their
// expiry (finished or left by dead leaders).
#include "engine/postgres/PgEngine.hpp"

#include "base/Error.hpp"
#include "proc/Interrupt.hpp"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>
#include <unistd.h>

namespace cacheman::postgres {

namespace {

using namespace std::chrono_literals;

// How long a lease lasts without renewal, and how often its leader renews it.
constexpr std::int64_t k_lease_seconds = 30;
constexpr auto k_renew_every = 10s;
// How long a published result stays in its row for the followers still polling.
constexpr std::int64_t k_result_seconds = 60;
// A follower polls at once, then backs off up to this.
constexpr auto k_first_poll = 5ms;
constexpr auto k_slowest_poll = 200ms;

// The server's clock, in unix seconds.
#define PG_NOW "extract(epoch FROM clock_timestamp())"

// Who holds a lease, unique per flight: host and pid for whoever reads the table.
std::string new_holder() {
    char host[256] = {};
    (void)gethostname(host, sizeof host - 1);
    std::random_device random;
    const auto token = (std::uint64_t{random()} << 32) ^ random();
    return std::string(host) + ":" + std::to_string(::getpid()) + ":" + std::to_string(token);
}

// The flights' connection, opened on first use and shared by the joining caller and the
// leaders' renewers (one statement at a time: a libpq connection serves one thread at once).
class LeaseStore {
  public:
    LeaseStore(std::string conninfo, std::string name_space)
        : m_conninfo(std::move(conninfo)), m_namespace(std::move(name_space)) {}

    // Runs one statement in a transaction of its own, with the namespace's id as $1. A
    // connection found lost is replaced once and the statement run again (every lease
    // statement may run twice: each leaves the same rows whether it ran before or not), so
    // that a leader whose connection died still renews and publishes, and its followers do
    // not wait out its lease.
    Rows exec(const std::string& sql, std::vector<Param> params) {
        const std::lock_guard lock(m_mutex);
        try {
            return exec_locked(sql, params);
        } catch (const StoreError&) {
            if (!m_connection || !m_connection->lost()) {
                throw;
            }
            m_connection.reset();
            return exec_locked(sql, params);
        }
    }

    // Whether the last statement failed for want of rights (SQLSTATE 42501): a role that may
    // only read.
    bool denied() {
        const std::lock_guard lock(m_mutex);
        return m_connection && m_connection->last_sqlstate() == "42501";
    }

  private:
    Rows exec_locked(const std::string& sql, std::vector<Param> params) {
        if (!m_connection) {
            m_connection = std::make_unique<PgConnection>(m_conninfo);
        }
        if (!m_namespace_id) {
            m_namespace_id = find_namespace();
        }
        params.insert(params.begin(), Param(*m_namespace_id));
        return m_connection->exec(sql, params);
    }

    // The namespace's id, creating its row when missing (leases refer to it).
    std::int64_t find_namespace() {
        Rows found =
            m_connection->exec("SELECT id FROM cacheman.namespaces WHERE name = $1", {m_namespace});
        if (!found.empty()) {
            return found.integer(0, 0);
        }
        return m_connection
            ->exec("INSERT INTO cacheman.namespaces(name, created) VALUES ($1, " PG_NOW
                   ") ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id",
                   {m_namespace})
            .integer(0, 0);
    }

    std::string m_conninfo;
    std::string m_namespace;
    std::mutex m_mutex;
    std::unique_ptr<PgConnection> m_connection;
    std::optional<std::int64_t> m_namespace_id;
};

// Renews a leader's lease every k_renew_every until stopped.
class Renewer {
  public:
    Renewer(std::shared_ptr<LeaseStore> store, std::string key, std::string holder)
        : m_thread([this, store = std::move(store), key = std::move(key),
                    holder = std::move(holder)] { run(*store, key, holder); }) {}
    ~Renewer() { stop(); }
    Renewer(const Renewer&) = delete;
    Renewer& operator=(const Renewer&) = delete;

    void stop() noexcept {
        {
            const std::lock_guard lock(m_mutex);
            m_stopped = true;
        }
        m_wake.notify_all();
        if (m_thread.joinable()) {
            m_thread.join();
        }
    }

  private:
    void run(LeaseStore& store, const std::string& key, const std::string& holder) {
        std::unique_lock lock(m_mutex);
        while (!m_wake.wait_for(lock, k_renew_every, [this] { return m_stopped; })) {
            lock.unlock();
            try {
                store.exec("UPDATE cacheman.leases SET expires = " PG_NOW " + $4::bigint "
                           "WHERE ns = $1::bigint AND key = $2 AND holder = $3 AND NOT finished",
                           {key, holder, k_lease_seconds});
            } catch (...) { // NOLINT(bugprone-empty-catch): the next renewal tries again; a
                            // lease that lapses meanwhile lets another process lead, no worse
            }
            lock.lock();
        }
    }

    std::mutex m_mutex;
    std::condition_variable m_wake;
    bool m_stopped = false;
    std::thread m_thread; // last: started once the members it uses exist
};

class LeaseFlight final : public engine::Flight {
  public:
    // A leader holding the lease of `key` as `holder`.
    LeaseFlight(std::shared_ptr<LeaseStore> store, std::string key, std::string holder)
        : m_store(std::move(store)), m_key(std::move(key)), m_holder(std::move(holder)),
          m_role(Role::leader), m_renewer(std::make_unique<Renewer>(m_store, m_key, m_holder)) {}
    // A follower with the leader's result.
    explicit LeaseFlight(std::string result)
        : m_role(Role::follower), m_result(std::move(result)) {}

    ~LeaseFlight() override {
        if (m_renewer) {
            // Without a result: the lease goes, and a follower leads in this one's place.
            end("DELETE FROM cacheman.leases WHERE ns = $1::bigint AND key = $2 AND holder = $3",
                {m_key, m_holder});
        }
    }

    [[nodiscard]] Role role() const override { return m_role; }
    [[nodiscard]] const std::string& result() const override { return m_result; }

    void publish(std::string_view bytes) override {
        if (!m_renewer) {
            return; // a follower, or a leader that ended already
        }
        end("UPDATE cacheman.leases SET finished = true, result = $4, expires = " PG_NOW
            " + $5::bigint WHERE ns = $1::bigint AND key = $2 AND holder = $3",
            {m_key, m_holder, Param::bytes(bytes), k_result_seconds});
    }

  private:
    // Stops renewing, runs `sql` (which ends the lease), then removes the rows past their
    // expiry. Best effort, as FlockFlight's end: a lease that could not be ended lapses.
    void end(const std::string& sql, std::vector<Param> params) noexcept {
        m_renewer.reset();
        try {
            m_store->exec(sql, std::move(params));
            m_store->exec(
                "DELETE FROM cacheman.leases WHERE ns = $1::bigint AND expires <= " PG_NOW, {});
        } catch (...) { // NOLINT(bugprone-empty-catch): see above
        }
    }

    std::shared_ptr<LeaseStore> m_store;
    std::string m_key;
    std::string m_holder;
    Role m_role;
    std::string m_result;
    std::unique_ptr<Renewer> m_renewer; // set while a leader holds its lease
};

class LeaseFlights final : public engine::Flights {
  public:
    LeaseFlights(std::string conninfo, std::string name_space)
        : m_store(std::make_shared<LeaseStore>(std::move(conninfo), std::move(name_space))) {}

    std::unique_ptr<engine::Flight> join(const std::string& key) override {
        return enter(key, true);
    }
    std::unique_ptr<engine::Flight> try_lead(const std::string& key) override {
        return enter(key, false);
    }

  private:
    std::unique_ptr<engine::Flight> enter(const std::string& key, bool wait) {
        try {
            while (true) {
                std::string holder = new_holder();
                if (take(key, holder)) {
                    return std::make_unique<LeaseFlight>(m_store, key, std::move(holder));
                }
                if (!wait) {
                    return nullptr;
                }
                if (auto result = wait_for_holder(key); result && !result->empty()) {
                    return std::make_unique<LeaseFlight>(std::move(*result));
                }
                // The leader went away without a result: join again, and perhaps lead.
            }
        } catch (const StoreError& error) {
            if (m_store->denied()) {
                // A role that may only read: it runs alone, and says its result is not stored.
                return std::make_unique<engine::SoloFlight>();
            }
            rethrow_with_context(error, "cannot join the flight of the same command: ");
        }
    }

    // Takes the lease of `key` unless a live leader holds it; never waits for one. (Run again
    // after a lost connection, it finds the lease it took, if it took it.)
    bool take(const std::string& key, const std::string& holder) {
        return !m_store
                    ->exec("INSERT INTO cacheman.leases(ns, key, holder, expires) VALUES "
                           "($1::bigint, $2, $3, " PG_NOW " + $4::bigint) "
                           "ON CONFLICT (ns, key) DO UPDATE SET holder = EXCLUDED.holder, "
                           "expires = EXCLUDED.expires, finished = false, result = NULL "
                           "WHERE cacheman.leases.finished OR cacheman.leases.expires <= " PG_NOW
                           " OR cacheman.leases.holder = EXCLUDED.holder RETURNING 1",
                           {key, holder, k_lease_seconds})
                    .empty();
    }

    // Waits until the holder of `key`'s lease ends: its result when it finished, nullopt when
    // it released the lease, let it expire, or was replaced meanwhile. Throws Interrupted when
    // a signal ends the wait.
    std::optional<std::string> wait_for_holder(const std::string& key) {
        std::optional<std::string> watched;
        auto pause = k_first_poll;
        while (true) {
            if (interrupted() != 0) {
                throw Interrupted("interrupted while waiting for the same command to finish");
            }
            Rows lease = m_store->exec("SELECT holder, finished, result, expires <= " PG_NOW
                                       " FROM cacheman.leases WHERE ns = $1::bigint AND key = $2",
                                       {key});
            if (lease.empty() || (watched && lease.text(0, 0) != *watched)) {
                return std::nullopt;
            }
            watched = lease.text(0, 0);
            if (lease.boolean(0, 1)) {
                return lease.optional_text(0, 2).value_or("");
            }
            if (lease.boolean(0, 3)) {
                return std::nullopt; // its leader stopped renewing: take it over
            }
            std::this_thread::sleep_for(pause);
            pause = std::min<std::chrono::milliseconds>(pause * 2, k_slowest_poll);
        }
    }

    std::shared_ptr<LeaseStore> m_store;
};

#undef PG_NOW

} // namespace

engine::Flights& PgEngine::flights() {
    if (!m_flights) {
        m_flights = std::make_unique<LeaseFlights>(m_conninfo, m_namespace);
    }
    return *m_flights;
}

} // namespace cacheman::postgres
