// Memoizing commands (`cacheman run`): look the command's key up in an ordinary cache, replay a
// hit, and on a miss execute the command once for all concurrent callers (see Flight.hpp),
// streaming its output while recording it.
#pragma once

#include "base/Duration.hpp"
#include "engine/sqlite/FlockFlight.hpp"
#include "proc/Process.hpp"
#include "run/RunKey.hpp"
#include "run/RunRecord.hpp"
#include "engine/sqlite/Store.hpp"

#include <functional>
#include <optional>
#include <string>

namespace cacheman {

struct RunRequest {
    RunSpec spec;
    std::string cache = "run";
    std::optional<Duration> ttl;   // the entry expires after this
    std::optional<Duration> stale; // older than this: replay, and refresh in the background
    bool cache_failures = false;   // store a non-zero exit too
    bool force = false;            // execute even on a hit, and overwrite
    bool refresh = false;          // the background refresh: lead or leave, never replay
};

enum class RunSource {
    hit,       // replayed from the cache
    stale_hit, // replayed from the cache; a background refresh was started
    executed,  // the command ran here
    waited,    // another process ran it; its result was replayed
    skipped,   // a refresh found nothing to do
};

struct RunOutcome {
    int exit_code = 0;
    RunSource source = RunSource::executed;
    int interrupted_by = 0; // the signal that interrupted the run (nothing was stored)
    std::string warning;    // a problem that did not change the command's result
};

struct Explanation {
    RunKey key;
    std::optional<RunRecord> record; // the stored entry, when it would hit
    std::optional<double> expires;   // its expiry, unix seconds
};

class Memoizer {
  public:
    Memoizer(Store& store, std::string flights_dir, std::function<double()> clock = {});

    // Replays or executes the request's command, writing its output to the sinks. Calls
    // `start_refresh` when a stale entry is replayed. Throws SpawnError when the command cannot
    // be started (nothing is stored), UsageError for an unreadable --watch path.
    RunOutcome run(const RunRequest& request, const OutputSink& out, const OutputSink& err,
                   const std::function<void()>& start_refresh);

    // What run would do, without doing it.
    Explanation explain(const RunRequest& request);

  private:
    std::optional<RunRecord> lookup(const std::string& cache, const std::string& key,
                                    std::optional<double>* expires = nullptr);
    [[nodiscard]] bool is_stale(const RunRequest& request, const RunRecord& record) const;
    RunOutcome execute(const RunRequest& request, const std::string& key, Flight& flight,
                       const OutputSink& out, const OutputSink& err);
    [[nodiscard]] double now() const;

    Store& m_store;
    std::string m_flights_dir;
    std::function<double()> m_clock;
};

} // namespace cacheman
