#include "run/Memoizer.hpp"

#include "base/Clock.hpp"
#include "base/Error.hpp"
#include "base/Posix.hpp"
#include "outputs/Tree.hpp"
#include "proc/Interrupt.hpp"

#include <chrono>
#include <cstring>

namespace cacheman {

namespace {

// What a leader publishes when it stored its result: the followers read the result from the
// store rather than from the flight, so the output is written once.
constexpr std::string_view k_stored_marker = "cacheman-run-stored\x01";

double seconds_of(const Duration& duration) {
    return static_cast<double>(duration.count()) / 1000.0;
}

// The outputs' file contents, kept in the results' store.
class StoredContents final : public outputs::Contents {
  public:
    explicit StoredContents(ResultStore& results) : m_results(results) {}
    void put(const std::string& digest, int fd, std::uint64_t size) override {
        m_results.put_content(digest, fd, size);
    }
    void get(const std::string& digest, int fd) override {
        const bool found = m_results.read_content(digest, [&](std::string_view bytes) {
            if (const int error = write_all(fd, bytes); error != 0) {
                throw StoreError(std::string("cannot write a restored output: ") +
                                 std::strerror(error));
            }
        });
        if (!found) {
            throw StoreError("the contents of a stored output are gone from the store");
        }
    }

  private:
    ResultStore& m_results;
};

// Writes the recorded chunks to their streams in the order they arrived: from the record, or
// piece by piece from the content that holds them.
void replay(ResultStore& results, const RunRecord& record, const OutputSink& out,
            const OutputSink& err) {
    const auto write = [&](Stream stream, std::string_view bytes) {
        (stream == Stream::out ? out : err)(bytes);
    };
    for (const auto& chunk : record.chunks) {
        write(chunk.stream, chunk.bytes);
    }
    if (!record.streams_content) {
        return;
    }
    ChunkLogReader log(write);
    std::uint64_t read = 0;
    const bool found = results.read_content(*record.streams_content, [&](std::string_view piece) {
        read += piece.size();
        if (!log.feed(piece)) {
            throw StoreError("the stored output of the command is damaged");
        }
    });
    if (!found) {
        throw StoreError("the stored output of the command is gone from the store");
    }
    if (!log.complete() || read != record.streams_size) {
        throw StoreError("the stored output of the command is damaged");
    }
}

} // namespace

bool Memoizer::restore_outputs(const RunRequest& request, RunRecord& record, std::string& problem) {
    const auto& declared = request.spec.output_paths;
    if (record.outputs.size() != declared.size()) {
        problem = "the stored result does not record the declared outputs";
        return false;
    }
    StoredContents contents(m_results);
    try {
        for (std::size_t i = 0; i < declared.size(); ++i) {
            record.outputs[i].declared = declared[i]; // as declared here, under this root
            outputs::restore(request.spec.cwd, record.outputs[i], contents);
        }
    } catch (const StoreError& error) {
        problem = std::string("the stored outputs could not be restored, so the command ran: ") +
                  error.what();
        return false;
    }
    return true;
}

std::optional<RunRecord> Memoizer::restored(const RunRequest& request,
                                            std::optional<RunRecord> record) {
    if (record && !restore_outputs(request, *record, m_restore_problem)) {
        return std::nullopt;
    }
    return record;
}

bool Memoizer::record_outputs(const RunRequest& request, RunRecord& record, std::string& warning) {
    StoredContents contents(m_results);
    try {
        for (const auto& path : request.spec.output_paths) {
            auto manifest = outputs::record(request.spec.cwd, path, contents);
            if (!manifest) {
                warning = "the result was not stored: output '" + path + "' does not exist";
                return false;
            }
            record.outputs.push_back(std::move(*manifest));
        }
    } catch (const Error& error) {
        warning = std::string("the result was not stored: ") + error.what();
        return false;
    }
    return true;
}

std::optional<RunRecord> Memoizer::lookup(const RunRequest& request, const std::string& key,
                                          std::optional<double>* expires) {
    auto entry = m_results.lookup(request.cache, key);
    if (!entry) {
        return std::nullopt;
    }
    if (expires != nullptr) {
        *expires = entry->expires;
    }
    // An entry that is not a run record (someone `set` it by hand) is a miss, overwritten.
    auto record = decode_run_record(entry->value);
    if (record && record->exit_code != 0 && !request.cache_failures) {
        return std::nullopt; // a stored failure replays only to runs that cache failures too
    }
    if (record && request.max_age &&
        m_results.now() - record->created_at >= seconds_of(*request.max_age)) {
        return std::nullopt; // too old for this caller, whatever its TTL
    }
    return record;
}

bool Memoizer::is_stale(const RunRequest& request, const RunRecord& record) {
    if (!request.stale) {
        return false;
    }
    return m_results.now() - record.created_at >= seconds_of(*request.stale);
}

RunOutcome Memoizer::replayed(const RunRecord& record, RunSource source, const OutputSink& out,
                              const OutputSink& err) {
    replay(m_results, record, out, err);
    RunOutcome outcome{record.exit_code, source, 0, {}, {}, std::nullopt};
    outcome.age = m_results.now() - record.created_at;
    return outcome;
}

RunOutcome Memoizer::run(const RunRequest& request, const OutputSink& out, const OutputSink& err,
                         const std::function<void()>& start_refresh) {
    const RunKey key = compute_run_key(request.spec);
    if (request.refresh) {
        auto flight = m_results.flights().try_lead(key.hex);
        const auto current = lookup(request, key.hex);
        if (!flight || (current && !is_stale(request, *current))) {
            return {0, RunSource::skipped, 0, {}, {}, std::nullopt}; // refreshed elsewhere
        }
        return execute(request, key.hex, *flight, out, err);
    }
    if (!request.force) {
        if (const auto record = restored(request, lookup(request, key.hex))) {
            const bool stale = is_stale(request, *record);
            RunOutcome outcome =
                replayed(*record, stale ? RunSource::stale_hit : RunSource::hit, out, err);
            if (stale) {
                start_refresh();
            }
            return outcome;
        }
    }
    if (request.replay_only) {
        return {1, RunSource::missed, 0, {}, {}, std::nullopt};
    }
    auto flight = m_results.flights().join(key.hex);
    while (flight->role() == engine::Flight::Role::follower) {
        if (const auto record =
                restored(request, published_record(request, key.hex, flight->result()))) {
            return replayed(*record, RunSource::waited, out, err);
        }
        // The leader stored its result, and it was cleared before it could be read: join
        // again (a process that joins now leads, unless another one leads already).
        flight = m_results.flights().join(key.hex);
    }
    if (!request.force) {
        // Another process may have stored it between the first look and taking the lead.
        if (const auto record = restored(request, lookup(request, key.hex))) {
            return replayed(*record, RunSource::hit, out, err);
        }
    }
    return execute(request, key.hex, *flight, out, err);
}

RunOutcome Memoizer::execute(const RunRequest& request, const std::string& key,
                             engine::Flight& flight, const OutputSink& out, const OutputSink& err) {
    RunRecord record;
    // Taken before the command starts: a result computed while an invalidation cleared the
    // cache was computed from inputs that are no longer current, and is not stored.
    const engine::Generation seen = m_results.generation(request.cache);
    record.created_at = m_results.now();
    StreamRecorder recorder(record);
    const ProcessResult result = run_process(
        request.spec.argv,
        [&](std::string_view chunk) {
            out(chunk);
            recorder.append(Stream::out, chunk);
        },
        [&](std::string_view chunk) {
            err(chunk);
            recorder.append(Stream::err, chunk);
        },
        request.stdin_fd);
    record.exit_code = result.exit_code;
    record.duration = result.duration;

    RunOutcome outcome{result.exit_code, RunSource::executed, 0, {}, {}, std::nullopt};
    if (const int signal = interrupted()) {
        outcome.interrupted_by = signal; // nothing stored, nothing published: waiters take over
        return outcome;
    }
    outcome.note = m_restore_problem;
    if (!keep_streams(recorder, record, outcome.warning)) {
        return outcome; // nothing published: the waiters run the command themselves
    }
    bool stored = false;
    const bool wanted = result.exit_code == 0 || request.cache_failures;
    if (wanted && !record_outputs(request, record, outcome.warning)) {
        record.outputs.clear(); // the streams are still replayed to the waiters
    } else if (wanted) {
        try {
            stored = m_results.store(request.cache, key, encode(record), record.content_digests(),
                                     request.ttl, seen);
            if (!stored) {
                outcome.note = "the result was not stored: cache '" + request.cache +
                               "' was invalidated while the command ran";
            }
        } catch (const StoreError& error) {
            outcome.warning = std::string("the result was not stored: ") + error.what();
        } catch (const HookError& error) {
            stored = true; // the auto-sync save after it failed
            outcome.warning = error.what();
        }
    }
    // Waiters replay the result whatever its status: from the store when it is there, else
    // from the flight itself.
    if (!stored) {
        record.outputs.clear(); // in place already: the waiters replay the streams
    }
    flight.publish(stored ? std::string(k_stored_marker) : encode(record));
    return outcome;
}

bool Memoizer::keep_streams(StreamRecorder& recorder, RunRecord& record, std::string& warning) {
    try {
        Spool* spool = recorder.spilled();
        if (spool == nullptr) {
            return true;
        }
        record.streams_content = spool->digest();
        record.streams_size = spool->size();
        m_results.put_content(*record.streams_content, spool->file(), record.streams_size);
        return true;
    } catch (const StoreError& error) {
        warning = std::string("the result was not stored: ") + error.what();
        return false;
    }
}

std::optional<RunRecord> Memoizer::published_record(const RunRequest& request,
                                                    const std::string& key,
                                                    const std::string& published) {
    if (published != k_stored_marker) {
        return decode_run_record(published);
    }
    // Whatever its exit status and age: it is the result of the execution waited for (or a
    // later one of the same key).
    const auto entry = m_results.lookup(request.cache, key);
    return entry ? decode_run_record(entry->value) : std::nullopt;
}

Explanation Memoizer::explain(const RunRequest& request) {
    Explanation explanation{compute_run_key(request.spec), std::nullopt, std::nullopt};
    explanation.record = lookup(request, explanation.key.hex, &explanation.expires);
    return explanation;
}

} // namespace cacheman
