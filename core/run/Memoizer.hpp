// Memoizing commands (`cacheman run`): look the command's key up in an ordinary cache, replay a
// hit, and on a miss execute the command once for all concurrent callers (see Flight.hpp),
// streaming its output while recording it.
#pragma once

#include "base/Duration.hpp"
#include "engine/Flight.hpp"
#include "engine/Types.hpp"
#include "proc/Process.hpp"
#include "run/RunKey.hpp"
#include "run/RunRecord.hpp"

#include <functional>
#include <optional>
#include <string>

namespace cacheman {

struct RunRequest {
    RunSpec spec;
    std::string cache = "run";
    std::optional<Duration> ttl;     // the entry expires after this
    std::optional<Duration> stale;   // older than this: replay, and refresh in the background
    std::optional<Duration> max_age; // older than this: a miss
    int stdin_fd = -1;               // the command's stdin (-1: cacheman's own)
    bool cache_failures = false;     // store a non-zero exit too
    bool replay_only = false;        // on a miss, execute nothing
    bool force = false;              // execute even on a hit, and overwrite
    bool refresh = false;            // the background refresh: lead or leave, never replay
};

enum class RunSource {
    hit,       // replayed from the cache
    stale_hit, // replayed from the cache; a background refresh was started
    executed,  // the command ran here
    waited,    // another process ran it; its result was replayed
    skipped,   // a refresh found nothing to do
    missed,    // --replay-only found nothing to replay
};

struct RunOutcome {
    int exit_code = 0;
    RunSource source = RunSource::executed;
    int interrupted_by = 0;    // the signal that interrupted the run (nothing was stored)
    std::string warning;       // a problem that did not change the command's result
    std::string note;          // what -v says besides hit or miss
    std::optional<double> age; // of the replayed result, in seconds
};

struct Explanation {
    RunKey key;
    std::optional<RunRecord> record; // the stored entry, when it would hit
    std::optional<double> expires;   // its expiry, unix seconds
};

// Where results live: the session implements it over a namespace (lookups of an ordinary
// cache; storing is an edit like any other, auto-sync included).
class ResultStore {
  public:
    virtual ~ResultStore() = default;
    ResultStore() = default;
    ResultStore(const ResultStore&) = delete;
    ResultStore& operator=(const ResultStore&) = delete;
    // The live entry, or nullopt when it (or the cache) is missing.
    virtual std::optional<engine::Entry> lookup(const std::string& cache,
                                                const std::string& key) = 0;
    // Stores a result that refers to `contents` (content addresses kept by put_content) unless
    // the cache was cleared since `seen` was taken (then returns false). Throws StoreError when
    // it cannot be stored, HookError when auto-sync's saver failed after the result was stored.
    virtual bool store(const std::string& cache, const std::string& key, std::string_view value,
                       const std::vector<std::string>& contents, std::optional<Duration> ttl,
                       const engine::Generation& seen) = 0;
    // The contents of outputs, by content address (engine::Engine::put_content, read_content).
    virtual void put_content(const std::string& digest, int fd, std::uint64_t size) = 0;
    virtual bool read_content(const std::string& digest,
                              const std::function<void(std::string_view)>& sink) = 0;
    // The results cache's generation, taken before a command starts.
    virtual engine::Generation generation(const std::string& cache) = 0;
    virtual engine::Flights& flights() = 0;
    // Unix seconds.
    virtual double now() = 0;
};

class Memoizer {
  public:
    explicit Memoizer(ResultStore& results) : m_results(results) {}

    // Replays or executes the request's command, writing its output to the sinks. Calls
    // `start_refresh` when a stale entry is replayed. Throws SpawnError when the command cannot
    // be started (nothing is stored), UsageError for an unreadable --watch path.
    RunOutcome run(const RunRequest& request, const OutputSink& out, const OutputSink& err,
                   const std::function<void()>& start_refresh);

    // What run would do, without doing it.
    Explanation explain(const RunRequest& request);

  private:
    // The stored record for `key`, when the request may replay it.
    std::optional<RunRecord> lookup(const RunRequest& request, const std::string& key,
                                    std::optional<double>* expires = nullptr);
    // The record a leader published for its followers: in the flight, or (when it stored it)
    // in the store. nullopt when it was cleared from the store before it could be read.
    std::optional<RunRecord> published_record(const RunRequest& request, const std::string& key,
                                              const std::string& published);
    // Replays a stored (or published) record.
    RunOutcome replayed(const RunRecord& record, RunSource source, const OutputSink& out,
                        const OutputSink& err);
    RunOutcome execute(const RunRequest& request, const std::string& key, engine::Flight& flight,
                       const OutputSink& out, const OutputSink& err);
    [[nodiscard]] bool is_stale(const RunRequest& request, const RunRecord& record);
    // The record, once its outputs are restored into place; nullopt when there is none or they
    // cannot be restored (then the command runs, and m_restore_problem says why).
    std::optional<RunRecord> restored(const RunRequest& request, std::optional<RunRecord> record);
    bool restore_outputs(const RunRequest& request, RunRecord& record, std::string& problem);
    // Records the declared outputs into `record`, keeping their contents; false (with the
    // warning to print) when one is missing or cannot be read: the result is not stored.
    bool record_outputs(const RunRequest& request, RunRecord& record, std::string& warning);
    // Keeps the streams in the store when they outgrew the record (also for a result that is
    // not stored: its waiters read them there, and gc removes them later); false (with the
    // warning to print) when they cannot be kept.
    bool keep_streams(StreamRecorder& recorder, RunRecord& record, std::string& warning);

    ResultStore& m_results;
    std::string m_restore_problem;
};

} // namespace cacheman
