#include "session/Namespace.hpp"

#include "base/Error.hpp"
#include "base/MappedFile.hpp"
#include "base/Names.hpp"
#include "engine/Open.hpp"
#include "hooks/AutoSync.hpp"
#include "jsonl/EntryReader.hpp"

#include <algorithm>

namespace cacheman {

using engine::Access;

namespace {

constexpr std::size_t k_progress_every = 4096;
constexpr std::size_t k_export_chunk = 1 << 16;

Status status_of(Status status) {
    return status;
}

template <class T> Status status_of(const Result<T>& result) {
    return result.status;
}

engine::WriteSource from_vector(const std::vector<engine::Write>& writes) {
    return [&writes, next = std::size_t{0}](engine::Write& write) mutable {
        if (next == writes.size()) {
            return false;
        }
        write = writes[next++];
        return true;
    };
}

// The entries of the export format, parsed while they are written; `each` sees every entry.
engine::WriteSource from_json(json::EntryReader& reader,
                              const std::function<void(std::size_t)>& each = {}) {
    return [&reader, &each](engine::Write& write) {
        json::Entry entry;
        if (!reader.next(entry)) {
            return false;
        }
        write = engine::Write{std::move(entry.key), std::move(entry.value), entry.expires, {}, {}, {}};
        if (auto large = std::move(entry.large)) { // read by the engine while it writes it
            write.large_value = engine::LargeValue{
                large->digest(), large->size(),
                [large](const engine::ChunkSink& sink) { large->read(sink); }};
        }
        if (each) {
            each(reader.entries_read());
        }
        return true;
    };
}

} // namespace

template <class Call> auto Namespace::built(std::string_view cache, Call&& call) {
    auto result = call(Access::built);
    if (status_of(result) != Status::unbuilt) {
        return result;
    }
    build(cache);
    result = call(Access::built);
    if (status_of(result) == Status::unbuilt) {
        result = call(Access::raw); // cleared again since: read what is there
    }
    return result;
}

// The results of `run` live in an ordinary cache of this namespace.
class Namespace::Results final : public ResultStore {
  public:
    explicit Results(Namespace& owner) : m_owner(owner) {}
    std::optional<engine::Entry> lookup(const std::string& cache, const std::string& key) override {
        auto found = m_owner.built(
            cache, [&](Access access) { return m_owner.m_engine->get(cache, key, access); });
        if (found.ok() && found.value) {
            m_found_key = key;
        }
        return found.ok() ? std::move(found.value) : std::nullopt;
    }
    // The key of the last lookup that found an entry (the use a replay counts).
    [[nodiscard]] const std::optional<std::string>& found_key() const { return m_found_key; }
    bool store(const std::string& cache, const std::string& key, std::string_view value,
               const std::vector<std::string>& contents, std::optional<Duration> ttl,
               const engine::Generation& seen) override {
        const std::vector<engine::Write> writes{
            {key, std::string(value), std::nullopt, ttl, contents, {}}};
        const auto applied = m_owner.built(cache, [&](Access access) {
            return m_owner.m_engine->apply(cache, from_vector(writes), access, seen);
        });
        m_owner.after_edit(cache, applied.value.counted);
        return applied.status == Status::ok;
    }
    engine::Generation generation(const std::string& cache) override {
        return m_owner.m_engine->generation(cache);
    }
    engine::Flights& flights() override { return m_owner.m_engine->flights(); }
    void put_content(const std::string& digest, int fd, std::uint64_t size) override {
        m_owner.m_engine->put_content(digest, fd, size);
    }
    bool read_content(const std::string& digest, const engine::ChunkSink& sink) override {
        return m_owner.m_engine->read_content(digest, sink);
    }
    double now() override { return m_owner.now(); }

  private:
    Namespace& m_owner;
    std::optional<std::string> m_found_key;
};

std::unique_ptr<Namespace> Namespace::open(const Location& location, engine::OpenMode mode,
                                           const engine::EngineOptions& options) {
    return std::make_unique<Namespace>(engine::open_engine(location, mode, options), location);
}

bool Namespace::opens_store_urls() { return engine::has_store_opener(); }

Namespace::Namespace(std::unique_ptr<engine::Engine> engine, Location location)
    : m_engine(std::move(engine)), m_location(location), m_hooks(std::move(location), [this] {
          // Asked only when a hook is about to run; the answer holds for the session.
          m_trusted = m_trusted || m_engine->settings_trusted();
          return m_trusted;
      }) {}

void Namespace::build(std::string_view cache) {
    const auto settings = m_engine->settings(cache);
    if (!settings) {
        return;
    }
    const std::string name(cache);
    replace(cache, *m_hooks.build(name, *settings), "builder output", true);
}

namespace {

// Calls `read(data, release)` on the JSON Lines gathered in `contents`: in memory, or mapped
// from its file (its pages given back as they are read).
template <class Read> void read_contents(Spool& contents, const std::string& source, Read&& read) {
    if (contents.in_memory()) {
        read(std::string_view(contents.bytes()), json::Release{});
        return;
    }
    MappedFile mapped(contents.file(), source);
    read(mapped.data(), json::Release([&mapped](const char* at) { mapped.release(at); }));
}

// Reads every entry of a hook's output, refusing malformed output with HookError.
template <class Use> void read_hook_output(Spool& contents, const std::string& source, Use&& use) {
    read_contents(contents, source, [&](std::string_view data, const json::Release& release) {
        json::EntryReader reader(data, source, release);
        try {
            use(reader);
        } catch (const UsageError& error) {
            throw HookError(std::string("hook output refused, the cache is unchanged: ") +
                            error.what());
        }
    });
}

} // namespace

void Namespace::replace(std::string_view cache, Spool& contents, const std::string& source,
                        bool built) {
    read_hook_output(contents, source, [&](json::EntryReader& reader) {
        m_engine->replace_contents(cache, from_json(reader), built);
    });
}

void Namespace::after_edit(std::string_view cache, bool counted) {
    if (!counted) {
        return; // no auto-sync on this cache: nothing to check, no query on the hot path
    }
    engine::EditBuckets counts = m_engine->edit_counts(cache);
    const auto settings = m_engine->settings(cache);
    if (counts.empty() || !settings) {
        return;
    }
    EditWindow window(settings->checks());
    window.set_buckets(std::move(counts));
    const double current = now();
    if (!window.save_due(current)) {
        window.prune(current);
        m_engine->forget_edit_counts(cache, window.buckets().empty()
                                                ? static_cast<std::int64_t>(current) + 1
                                                : window.buckets().begin()->first);
        return;
    }
    try {
        save(cache, false);
    } catch (const HookError& error) {
        throw HookError(std::string("auto-sync save failed; the command's own change was kept: ") +
                        error.what());
    }
}

// --- reads ---------------------------------------------------------------------------------

Result<std::optional<engine::Entry>> Namespace::get(std::string_view cache, std::string_view key) {
    return built(cache, [&](Access access) { return m_engine->get_counted(cache, key, access); });
}

Result<bool> Namespace::read_value(std::string_view cache, std::string_view key,
                                   const engine::ChunkSink& sink) {
    return built(cache, [&](Access access) {
        return m_engine->read_value_counted(cache, key, access, sink);
    });
}

Result<std::vector<std::string>> Namespace::keys(std::string_view cache) {
    return built(cache, [&](Access access) { return m_engine->keys(cache, access); });
}

Result<std::vector<std::string>> Namespace::stored_keys(std::string_view cache) {
    return m_engine->keys(cache, Access::raw);
}

Result<std::size_t> Namespace::count(std::string_view cache) {
    return built(cache, [&](Access access) { return m_engine->count(cache, access); });
}

Status Namespace::scan(std::string_view cache, const engine::EntryVisitor& visit) {
    return built(cache, [&](Access access) { return m_engine->scan(cache, access, visit); });
}

namespace {

// Writes entries as lines of the export format to `sink` in chunks of about k_export_chunk;
// a large value's line is drained to the sink as it is written.
class ExportLines {
  public:
    explicit ExportLines(std::function<void(std::string_view)> sink) : m_sink(std::move(sink)) {
        m_buffer.reserve(k_export_chunk * 2);
    }
    void add(const engine::EntryView& entry) {
        json::append_entry(
            m_buffer, entry.key, [&entry](const json::PieceSink& piece) { entry.read(piece); },
            entry.expires, m_sink, k_export_chunk);
        m_buffer += '\n';
        if (m_buffer.size() >= k_export_chunk) {
            m_sink(m_buffer);
            m_buffer.clear();
        }
    }
    // Hands over what is left.
    void finish() {
        if (!m_buffer.empty()) {
            m_sink(m_buffer);
            m_buffer.clear();
        }
    }

  private:
    std::function<void(std::string_view)> m_sink;
    std::string m_buffer;
};

} // namespace

Status Namespace::export_entries(std::string_view cache,
                                 const std::function<void(std::string_view)>& sink,
                                 const Progress& progress) {
    std::size_t total = 0;
    if (progress) {
        const auto counted = count(cache);
        if (!counted.ok()) {
            return counted.status;
        }
        total = counted.value;
    }
    std::size_t done = 0;
    ExportLines lines(sink);
    const Status status = scan(cache, [&](const engine::EntryView& entry) {
        lines.add(entry);
        if (progress && ++done % k_progress_every == 0) {
            progress(done, total);
        }
    });
    lines.finish();
    if (progress && status == Status::ok) {
        progress(total, total);
    }
    return status;
}

Hooks::Contents Namespace::contents(std::string_view cache) {
    auto out = std::make_unique<Spool>(Hooks::k_hook_memory);
    ExportLines lines([&out](std::string_view piece) { out->append(piece); });
    m_engine->scan(cache, Access::raw, [&lines](const engine::EntryView& entry) { lines.add(entry); });
    lines.finish();
    return out;
}

// --- edits ---------------------------------------------------------------------------------

void Namespace::set(std::string_view cache, std::string_view key, std::string_view value,
                    std::optional<Duration> ttl) {
    const std::vector<engine::Write> writes{
        {std::string(key), std::string(value), std::nullopt, ttl, {}, {}}};
    apply(cache, writes);
}

void Namespace::set(std::string_view cache, std::string_view key, Spool& value,
                    std::optional<Duration> ttl) {
    if (value.in_memory()) {
        set(cache, key, value.bytes(), ttl);
        return;
    }
    engine::LargeValue large{value.digest(), value.size(),
                             [&value](const engine::ChunkSink& sink) { value.read(sink); }};
    const std::vector<engine::Write> writes{
        {std::string(key), std::string(), std::nullopt, ttl, {}, std::move(large)}};
    apply(cache, writes);
}

void Namespace::apply(std::string_view cache, const std::vector<engine::Write>& writes) {
    const auto applied = built(cache, [&](Access access) {
        return m_engine->apply(cache, from_vector(writes), access, std::nullopt);
    });
    after_edit(cache, applied.value.counted);
}

std::size_t Namespace::import_entries(std::string_view cache, std::string_view data,
                                      const std::string& source_name, const Progress& progress,
                                      const json::Release& release) {
    const std::size_t lines = progress ? json::count_lines(data, release) : 0;
    std::size_t imported = 0;
    const auto applied = built(cache, [&](Access access) {
        json::EntryReader reader(data, source_name, release);
        const std::function<void(std::size_t)> each = [&](std::size_t read) {
            if (progress && read % k_progress_every == 0) {
                progress(read, lines);
            }
        };
        auto result = m_engine->apply(cache, from_json(reader, each), access, std::nullopt);
        imported = reader.entries_read();
        return result;
    });
    if (progress) {
        progress(lines, lines);
    }
    after_edit(cache, applied.value.counted);
    return imported;
}

Result<std::size_t> Namespace::erase(std::string_view cache, const std::vector<std::string>& keys) {
    const auto removed =
        built(cache, [&](Access access) { return m_engine->erase(cache, keys, access); });
    after_edit(cache, removed.value.counted);
    return {removed.status, removed.value.changed};
}

// --- the graph -----------------------------------------------------------------------------

void Namespace::depend(std::string_view parent, std::string_view child) {
    m_engine->depend(parent, child);
}

bool Namespace::undepend(std::string_view parent, std::string_view child) {
    return m_engine->undepend(parent, child);
}

Result<std::vector<std::string>>
Namespace::invalidate(std::string_view cache, const std::optional<std::string>& key, bool dry_run) {
    return m_engine->invalidate(cache, key, dry_run, "invalidate");
}

Result<std::vector<std::string>> Namespace::drop(std::string_view cache) {
    const auto settings = m_engine->settings(cache);
    if (!settings) {
        return {Status::no_cache, {}};
    }
    m_hooks.remove(std::string(cache), *settings);
    // Fold the lookups counted so far, so that none is credited later to a new cache that
    // takes the dropped one's name.
    m_engine->fold_lookup_counts();
    return m_engine->drop(cache);
}

Result<engine::Dependencies> Namespace::dependencies(std::string_view cache, bool transitive) {
    return m_engine->dependencies(cache, transitive);
}

std::vector<Edge> Namespace::edges() {
    return m_engine->edges();
}

std::vector<std::string> Namespace::dependents_first(std::string_view cache) {
    auto order = m_engine->dependencies(cache, true).value.children; // each after its parents
    std::reverse(order.begin(), order.end());
    order.emplace_back(cache);
    return order;
}

// --- caches and their hooks ------------------------------------------------------------------

std::vector<engine::CacheSummary> Namespace::list() {
    return m_engine->list();
}

std::vector<engine::CacheSummary> Namespace::stats() {
    m_engine->fold_lookup_counts();
    return m_engine->list();
}

std::optional<engine::CacheSettings> Namespace::settings(std::string_view cache) {
    return m_engine->settings(cache);
}

void Namespace::configure(std::string_view cache,
                          const std::function<void(engine::CacheSettings&)>& edit) {
    m_engine->configure(cache, edit);
}

Status Namespace::rebuild(std::string_view cache) {
    const auto settings = m_engine->settings(cache);
    if (!settings) {
        return Status::no_cache;
    }
    const std::string name(cache);
    // Run and check everything before anything changes: a failure leaves the cache as it was.
    const Hooks::Contents contents = m_hooks.build(name, *settings);
    read_hook_output(*contents, "builder output", [](json::EntryReader& reader) {
        json::Entry entry;
        while (reader.next(entry)) {
        }
    });
    m_engine->invalidate(cache, std::nullopt, false, "rebuild");
    replace(cache, *contents, "builder output", true);
    return Status::ok;
}

Result<std::vector<std::string>> Namespace::reload(std::string_view cache, bool cascade) {
    if (!m_engine->settings(cache)) {
        return {Status::no_cache, {}};
    }
    std::vector<std::string> fallbacks;
    const auto targets =
        cascade ? dependents_first(cache) : std::vector<std::string>{std::string(cache)};
    for (const auto& target : targets) {
        const auto settings = m_engine->settings(target);
        if (!settings) {
            continue; // dropped meanwhile
        }
        if (!settings->loader) {
            if (settings->is_volatile) {
                Spool nothing(0);
                replace(target, nothing, "", false); // nothing to load it from
            }
            continue;
        }
        // A clear (invalidate, rebuild, a cascade) since the saver's last save: its copy holds
        // entries from before the clear, which loading would bring back. (Without a saver, what
        // the loader reads is not a copy cacheman made.)
        std::string reason = "its saved copy is older than its last clear";
        if (!settings->saver || settings->saved_copy_current) {
            auto loaded = m_hooks.load(target, *settings);
            if (loaded.contents) {
                replace(target, *loaded.contents, "loader output", true);
                continue;
            }
            reason = loaded.reason;
        }
        fallbacks.push_back("reload of '" + target + "': " + reason + "; " +
                            (settings->builder ? "built it instead" : "emptied it"));
        replace(target, *m_hooks.build(target, *settings), "builder output", true);
    }
    return {Status::ok, std::move(fallbacks)};
}

Status Namespace::save(std::string_view cache, bool cascade) {
    if (!m_engine->settings(cache)) {
        return Status::no_cache;
    }
    const auto targets =
        cascade ? dependents_first(cache) : std::vector<std::string>{std::string(cache)};
    for (const auto& target : targets) {
        const auto settings = m_engine->settings(target);
        if (!settings || !settings->saver) {
            continue;
        }
        m_hooks.save(target, *settings, *contents(target));
        m_engine->saved(target);
    }
    return Status::ok;
}

// --- history, health, run --------------------------------------------------------------------

std::vector<engine::LogEntry> Namespace::log(const std::optional<std::string>& cache,
                                             std::size_t limit) {
    return m_engine->log(cache, limit);
}

engine::CheckReport Namespace::check() {
    return m_engine->check();
}

engine::Removed Namespace::gc(std::optional<std::int64_t> max_bytes) {
    const engine::Removed removed = m_engine->collect_garbage(max_bytes);
    m_engine->compact();
    return removed;
}

RunOutcome Namespace::run(const RunRequest& request, const OutputSink& out, const OutputSink& err,
                          const std::function<void()>& start_refresh) {
    Results results(*this);
    RunOutcome outcome = Memoizer(results).run(request, out, err, start_refresh);
    if (outcome.source != RunSource::skipped) {
        const bool replayed =
            outcome.source == RunSource::hit || outcome.source == RunSource::stale_hit;
        m_engine->count_lookup(request.cache, results.found_key(), replayed);
    }
    return outcome;
}

Explanation Namespace::explain(const RunRequest& request) {
    Results results(*this);
    return Memoizer(results).explain(request);
}

} // namespace cacheman
