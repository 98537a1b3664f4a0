#include "engine/Open.hpp"

#include "base/Error.hpp"
#include "base/Names.hpp"
#include "engine/sqlite/SqliteEngine.hpp"
#include "engine/sqlite/StoreFile.hpp"

namespace cacheman::engine {

namespace {

// A namespace whose store does not exist, opened by a command that must not create it: it reads
// as empty without building anything. Every read of a cache says "no such cache" (after the same
// name checks as a store), so that a `get` on a fresh directory costs no more than a hit. A call
// that needs a store's contents (a write that creates a cache, an edge, `check`, single flight)
// opens the SQLite engine then, which acts on an empty store in memory that is not kept (see
// OpenMode); every later call goes there.
class AbsentStore final : public Engine {
  public:
    AbsentStore(Location location, OpenMode mode, EngineOptions options)
        : m_location(std::move(location)), m_mode(mode), m_options(std::move(options)) {}

    [[nodiscard]] std::string name() const override { return m_location.path(); }
    double now() override { return unix_now(m_options.clock); }
    [[nodiscard]] bool settings_trusted() override {
        return !m_empty || m_empty->settings_trusted();
    }

    Result<std::optional<Entry>> get(std::string_view cache, std::string_view key,
                                     Access access) override {
        if (m_empty) {
            return m_empty->get(cache, key, access);
        }
        validate_key(key);
        return missing<std::optional<Entry>>(cache);
    }
    Result<bool> read_value(std::string_view cache, std::string_view key, Access access,
                            const ChunkSink& sink) override {
        if (m_empty) {
            return m_empty->read_value(cache, key, access, sink);
        }
        validate_key(key);
        return missing<bool>(cache);
    }
    Result<std::vector<std::string>> keys(std::string_view cache, Access access) override {
        return m_empty ? m_empty->keys(cache, access) : missing<std::vector<std::string>>(cache);
    }
    Result<std::size_t> count(std::string_view cache, Access access) override {
        return m_empty ? m_empty->count(cache, access) : missing<std::size_t>(cache);
    }
    Status scan(std::string_view cache, Access access, const EntryVisitor& visit) override {
        return m_empty ? m_empty->scan(cache, access, visit) : missing<bool>(cache).status;
    }

    Result<Edited> apply(std::string_view cache, const WriteSource& writes, Access access,
                         const std::optional<Generation>& only_if) override {
        return empty().apply(cache, writes, access, only_if);
    }
    Generation generation(std::string_view cache) override {
        if (m_empty) {
            return m_empty->generation(cache);
        }
        validate_cache_name(cache);
        return {};
    }
    Result<Edited> erase(std::string_view cache, const std::vector<std::string>& keys,
                         Access access) override {
        if (m_empty) {
            return m_empty->erase(cache, keys, access);
        }
        for (const auto& key : keys) {
            validate_key(key);
        }
        return missing<Edited>(cache);
    }
    void replace_contents(std::string_view cache, const WriteSource& writes, bool built) override {
        empty().replace_contents(cache, writes, built);
    }

    void depend(std::string_view parent, std::string_view child) override {
        empty().depend(parent, child);
    }
    bool undepend(std::string_view parent, std::string_view child) override {
        if (m_empty) {
            return m_empty->undepend(parent, child);
        }
        validate_cache_name(parent);
        validate_cache_name(child);
        return false;
    }
    Result<std::vector<std::string>> invalidate(std::string_view cache,
                                                const std::optional<std::string>& key, bool dry_run,
                                                std::string_view command) override {
        if (m_empty) {
            return m_empty->invalidate(cache, key, dry_run, command);
        }
        if (key) {
            validate_key(*key);
        }
        return missing<std::vector<std::string>>(cache);
    }
    Result<std::vector<std::string>> drop(std::string_view cache) override {
        return m_empty ? m_empty->drop(cache) : missing<std::vector<std::string>>(cache);
    }
    Result<Dependencies> dependencies(std::string_view cache, bool transitive) override {
        return m_empty ? m_empty->dependencies(cache, transitive) : missing<Dependencies>(cache);
    }
    std::vector<Edge> edges() override { return m_empty ? m_empty->edges() : std::vector<Edge>{}; }

    std::vector<CacheSummary> list() override {
        return m_empty ? m_empty->list() : std::vector<CacheSummary>{};
    }
    std::optional<CacheSettings> settings(std::string_view cache) override {
        if (m_empty) {
            return m_empty->settings(cache);
        }
        validate_cache_name(cache);
        return std::nullopt;
    }
    void configure(std::string_view cache,
                   const std::function<void(CacheSettings&)>& edit) override {
        empty().configure(cache, edit);
    }
    bool receive(const NamespaceImage& image, bool replace) override {
        return empty().receive(image, replace);
    }

    EditBuckets edit_counts(std::string_view cache) override {
        if (m_empty) {
            return m_empty->edit_counts(cache);
        }
        validate_cache_name(cache);
        return {};
    }
    void forget_edit_counts(std::string_view cache, std::int64_t bucket) override {
        if (m_empty) {
            m_empty->forget_edit_counts(cache, bucket);
        } else {
            validate_cache_name(cache);
        }
    }
    void saved(std::string_view cache) override {
        if (m_empty) {
            m_empty->saved(cache);
        } else {
            validate_cache_name(cache);
        }
    }

    std::vector<LogEntry> log(const std::optional<std::string>& cache, std::size_t limit) override {
        return m_empty ? m_empty->log(cache, limit) : std::vector<LogEntry>{};
    }
    void count_lookup(std::string_view cache, std::optional<std::string_view> key,
                      bool hit) noexcept override {
        if (m_empty) {
            m_empty->count_lookup(cache, key, hit);
        }
    }
    void fold_lookup_counts() override {
        if (m_empty) {
            m_empty->fold_lookup_counts();
        }
    }

    void put_content(const std::string& digest, int fd, std::uint64_t size) override {
        empty().put_content(digest, fd, size);
    }
    bool read_content(const std::string& digest, const ChunkSink& sink) override {
        return m_empty && m_empty->read_content(digest, sink);
    }
    Removed collect_garbage(std::optional<std::int64_t> max_bytes) override {
        return m_empty ? m_empty->collect_garbage(max_bytes) : Removed{};
    }
    void compact() override {
        if (m_empty) {
            m_empty->compact();
        }
    }

    CheckReport check() override { return empty().check(); }
    Flights& flights() override { return empty().flights(); }
    std::vector<std::string> namespaces() override { return list_namespaces(m_location.dir); }

  private:
    // "No such cache", once the name is known to be one a store would accept.
    template <class T> static Result<T> missing(std::string_view cache) {
        validate_cache_name(cache);
        return {Status::no_cache, T{}};
    }
    Engine& empty() {
        if (!m_empty) {
            m_empty = std::make_unique<sqlite::SqliteEngine>(m_location, m_mode, m_options);
        }
        return *m_empty;
    }

    Location m_location;
    OpenMode m_mode;
    EngineOptions m_options;
    std::unique_ptr<Engine> m_empty;
};

StoreOpener g_store_opener = nullptr;

} // namespace

void register_store_opener(StoreOpener opener) noexcept { g_store_opener = opener; }

bool has_store_opener() { return g_store_opener != nullptr; }

std::unique_ptr<Engine> open_engine(const Location& location, OpenMode mode,
                                    const EngineOptions& options) {
    if (!location.store.empty()) {
        if (g_store_opener == nullptr) {
            throw StoreError("this program has no engine for postgresql:// stores: use "
                             "cacheman-postgresql (cacheman runs it for such a store)");
        }
        return g_store_opener(location, mode, options);
    }
    if (mode != OpenMode::create && !sqlite::store_file_exists(location.path())) {
        return std::make_unique<AbsentStore>(location, mode, options);
    }
    return std::make_unique<sqlite::SqliteEngine>(location, mode, options);
}

} // namespace cacheman::engine
