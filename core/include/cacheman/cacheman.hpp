// cacheman's C++ library: the same stores the `cacheman` command reads and writes, from a C++
// program. A Manager opens one namespace (one SQLite file); a Cache is a handle on one cache in
// it that reads and writes like a std::map<std::string, std::string>; edges between caches make
// an invalidation of one clear everything computed from it.
//
//     auto m = cacheman::Manager::open({.dir = "/some/dir", .name_space = "default"});
//     cacheman::Cache c = m.cache("root");
//     c["raw"] = "1";
//     std::optional<std::string> v = c.get("raw");
//     m.depend("root", "edge");
//     m.invalidate("root"); // clears root and edge, in one transaction
//
// Each write of a write-through Cache (clear() aside) and each write of the Manager is one
// transaction of the store, shared safely with other processes (the command-line tool
// included). A write-back Cache buffers its edits in memory and commits them together, in one
// transaction, when the seed's auto-sync rules say a save is due, on save(), and on destruction.
//
// The hooks a cache was given with `cacheman create` apply as they do for the command: reading a
// cache that has a builder and has not been built runs the builder; edits run the saver when the
// cache's auto-sync rules hold; drop() runs the deleter. A failing hook throws HookError.
//
// Errors are the exceptions below, all derived from cacheman::Error: NotFoundError (nothing
// there), UsageError (refused input: a bad name or key, a cycle), StoreError (the store cannot
// be opened, read or written; LockedError when another process held the lock too long) and
// HookError (a cache's hook command failed).
//
// Threads: a Manager and the Caches it made share one SQLite connection; use them from one thread
// at a time (open one Manager per thread for concurrency; processes may share a store freely).
//
// This header includes only the standard library: everything else is behind pointers.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <cacheman/Error.hpp>

namespace cacheman {

// Versioned like the ABI of the library: user code writes cacheman::Manager, the symbols say
// cacheman::v1::Manager. It also keeps these types apart from the library's internal ones, some
// of which have the same names.
inline namespace v1 {

// --- options ---------------------------------------------------------------------------------

struct ManagerOptions {
    // The store directory. Empty: $CACHEMAN_DIR, else $XDG_CACHE_HOME/cacheman, else
    // $HOME/.cache/cacheman (the same resolution as the command).
    std::string dir{};
    // The namespace (the store file is DIR/NAMESPACE.sqlite). Empty: $CACHEMAN_NAMESPACE, else
    // "default".
    std::string name_space{};
    // How long a write waits for another process's lock before throwing LockedError.
    std::chrono::milliseconds busy_timeout{10'000};
    // The time, in unix seconds, used for expiry and for the write-back rules. Empty: the system
    // clock, or CACHEMAN_NOW when the environment has CACHEMAN_TEST=1. Tests inject a fake one.
    std::function<double()> clock{};
};

enum class WriteMode {
    write_through, // every edit is its own transaction, visible to others at once
    write_back,    // edits are buffered and committed together (see CacheOptions)
};

// One auto-sync rule: a save is due when the edits made in this rule's band of ages number at
// least `edits`. The bands are disjoint: a rule covers the ages from the previous (shorter)
// rule's window up to its own, so the seed's defaults read "10,000 edits in the last minute, or
// 10 edits between 1 and 5 minutes ago, or 1 edit between 5 and 15 minutes ago".
struct SyncCheck {
    std::chrono::seconds window{0};
    std::int64_t edits = 0;
};

// The seed's rules: 60 s: 10,000 edits; 300 s: 10 edits; 900 s: 1 edit.
const std::vector<SyncCheck>& default_sync_checks();

struct CacheOptions {
    WriteMode mode = WriteMode::write_through;
    // write_back: when to commit on an edit (checked at each edit, as in the seed). Windows and
    // counts must be positive and windows distinct. Empty: commit only on save() and
    // destruction.
    std::vector<SyncCheck> sync_checks = default_sync_checks();
    // write_back: called when the commit a Cache makes in its destructor fails, with the error;
    // the buffered edits are then lost. The destructor never throws; without a callback the
    // error is dropped. Call save() first to handle the error yourself.
    std::function<void(const Error&)> on_lost_edits{};
};

namespace detail {
struct CacheImpl;
struct ManagerState;
} // namespace detail

// --- Cache -----------------------------------------------------------------------------------

// A handle on one cache of a Manager's store. A cache comes into existence with its first write
// (or an edge); until then it reads as empty. Keys are UTF-8 text without NUL; values are any
// bytes. Reads and iteration see live entries only (an entry past its ttl is gone).
//
// In write-back mode the Cache's reads see its own buffered edits; other Caches and processes see
// them once committed. A commit writes every buffered edit in one transaction (all or nothing;
// on failure they stay buffered and the next commit retries them) and overwrites what others
// wrote to the same keys in the meantime.
//
// Movable, not copyable; keeps the Manager's store open while it lives. Only assignment and
// destruction are allowed on a moved-from Cache (anything else throws UsageError).
class Cache {
  public:
    using value_type = std::pair<std::string, std::string>; // key, value
    class iterator;
    class Ref;

    Cache(Cache&& other) noexcept;
    // Commits (write-back) and releases the cache this one held, then takes over `other`.
    Cache& operator=(Cache&& other) noexcept;
    Cache(const Cache&) = delete;
    Cache& operator=(const Cache&) = delete;
    // Write-back: commits the buffered edits; never throws (see CacheOptions::on_lost_edits).
    ~Cache();

    [[nodiscard]] const std::string& name() const;
    [[nodiscard]] WriteMode mode() const;

    // --- reads ---
    // The live value of `key`, or nullopt when it is missing or expired. Throws UsageError for
    // an invalid key.
    [[nodiscard]] std::optional<std::string> get(std::string_view key) const;
    [[nodiscard]] bool contains(std::string_view key) const;
    // Live keys in byte order.
    [[nodiscard]] std::vector<std::string> keys() const;
    [[nodiscard]] std::size_t size() const;
    [[nodiscard]] bool empty() const;
    // A snapshot of the live entries in key (byte) order, read in one transaction.
    [[nodiscard]] std::vector<value_type> items() const;
    // Range-for over a snapshot taken by begin(): `for (const auto& [key, value] : cache)`.
    // Edits made while iterating do not change what the loop sees.
    [[nodiscard]] iterator begin() const;
    [[nodiscard]] iterator end() const;

    // --- writes ---
    // Stores `value` under `key`, replacing any previous value; with a ttl (positive) the entry
    // expires that long after this call. Throws UsageError for an invalid key or ttl.
    void set(std::string_view key, std::string_view value,
             std::optional<std::chrono::milliseconds> ttl = std::nullopt);
    // Removes `key`; true when a live entry was there.
    bool erase(std::string_view key);
    // Removes every entry live at the call. Unlike Manager::invalidate, dependents are untouched.
    // Write-through: the keys are read, then erased in one transaction, so an entry another
    // process adds in between survives (as if added just after the clear).
    void clear();
    // c["k"] = "v" sets; std::optional<std::string> v = c["k"] reads (nullopt when missing);
    // std::string s = c["k"] reads and throws NotFoundError when missing.
    [[nodiscard]] Ref operator[](std::string_view key);

    // --- write-back ---
    // Commits the buffered edits now, in one transaction; a no-op without any (and in
    // write-through mode). Throws what the store throws; the edits then stay buffered.
    void save();
    // How many keys have buffered edits (always 0 in write-through mode).
    [[nodiscard]] std::size_t pending() const;

  private:
    friend class Manager;
    explicit Cache(std::unique_ptr<detail::CacheImpl> impl);
    [[nodiscard]] detail::CacheImpl& impl() const;

    std::unique_ptr<detail::CacheImpl> m_impl;
};

// A forward iterator over a snapshot of a Cache. end() is a sentinel equal to any exhausted
// iterator; the snapshot lives as long as the iterators that share it.
class Cache::iterator {
  public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = Cache::value_type;
    using difference_type = std::ptrdiff_t;
    using pointer = const value_type*;
    using reference = const value_type&;

    iterator() = default;

    reference operator*() const { return (*m_items)[m_index]; }
    pointer operator->() const { return &(*m_items)[m_index]; }
    iterator& operator++() {
        ++m_index;
        return *this;
    }
    iterator operator++(int) {
        iterator old = *this;
        ++m_index;
        return old;
    }
    friend bool operator==(const iterator& a, const iterator& b) {
        if (a.at_end() || b.at_end()) {
            return a.at_end() && b.at_end();
        }
        return a.m_items == b.m_items && a.m_index == b.m_index;
    }

  private:
    friend class Cache;
    explicit iterator(std::shared_ptr<const std::vector<value_type>> items)
        : m_items(std::move(items)) {}
    [[nodiscard]] bool at_end() const { return !m_items || m_index >= m_items->size(); }

    std::shared_ptr<const std::vector<value_type>> m_items;
    std::size_t m_index = 0;
};

// What cache["key"] returns: assign a string to set the entry, convert it to read it. Keep it
// in an expression: `auto r = cache["k"]` holds the key, not the value.
//
// Copy-initialise the optional (`std::optional<std::string> v = cache["k"];`) or call get():
// std::optional's converting constructor (`std::optional<std::string> v(cache["k"])`) goes
// through the std::string conversion, which throws for a missing key.
class Cache::Ref {
  public:
    Ref(const Ref&) = default;
    Ref& operator=(std::string_view value);
    // Copies the other entry's value; throws NotFoundError when it is missing.
    Ref& operator=(const Ref& other);

    [[nodiscard]] std::optional<std::string> get() const;
    // The value; throws NotFoundError when the key is missing or expired.
    [[nodiscard]] std::string value() const;

    // The reference qualifiers make these exact matches, so copy-initialising an optional picks
    // them over std::optional's converting constructor (which would use operator std::string).
    operator std::optional<std::string>() const& { return get(); }
    operator std::optional<std::string>() & { return get(); }
    operator std::optional<std::string>() && { return get(); }
    operator std::string() const { return value(); }

  private:
    friend class Cache;
    Ref(Cache& cache, std::string_view key) : m_cache(&cache), m_key(key) {}

    Cache* m_cache;
    std::string m_key;
};

// --- Manager ---------------------------------------------------------------------------------

// One namespace's store, opened (and created when missing, with mode 0700/0600) by open().
// Movable, not copyable; only assignment and destruction are allowed on a moved-from Manager.
// Caches made by it keep the store open after the Manager is gone.
class Manager {
  public:
    // Resolves the location (see ManagerOptions) and opens the store. Throws UsageError for an
    // invalid namespace or when no directory can be derived; StoreError when the store cannot be
    // created or opened, is not a cacheman store, or was written by a newer cacheman.
    static Manager open(ManagerOptions options = {});

    Manager(Manager&&) noexcept;
    Manager& operator=(Manager&&) noexcept;
    Manager(const Manager&) = delete;
    Manager& operator=(const Manager&) = delete;
    ~Manager();

    // The store file: DIR/NAMESPACE.sqlite.
    [[nodiscard]] const std::string& path() const;

    // A handle on the cache `name` (created by its first write, not by this call). Throws
    // UsageError for an invalid name (1-255 bytes of UTF-8 without control characters) or
    // invalid sync checks.
    [[nodiscard]] Cache cache(std::string_view name, CacheOptions options = {});
    [[nodiscard]] Cache cache(std::string_view name, WriteMode mode);

    // Every cache of the store, sorted by name.
    [[nodiscard]] std::vector<std::string> caches();
    // Every cache that depends on `name`, directly or not: what invalidate(name) clears besides
    // it, each after its parents. Throws NotFoundError when `name` does not exist.
    [[nodiscard]] std::vector<std::string> dependents(std::string_view name);

    // The edge parent -> child (child is computed from parent), creating missing caches; a no-op
    // when present. Throws UsageError naming the path when the edge would close a cycle.
    void depend(std::string_view parent, std::string_view child);
    // Removes the edge. Throws NotFoundError when it does not exist.
    void undepend(std::string_view parent, std::string_view child);

    // The operations below first commit the buffered edits of this Manager's write-back Caches,
    // so they act on everything written so far.
    //
    // Clears `name` and every cache that depends on it, transitively, in one transaction.
    // Returns the caches cleared: `name` first. Throws NotFoundError when `name` does not exist.
    std::vector<std::string> invalidate(std::string_view name);
    // The same for one key: removes `key` from `name` and clears every dependent.
    std::vector<std::string> invalidate(std::string_view name, std::string_view key);
    // Clears the dependents of `name`, then removes it with its entries and edges. Returns the
    // dependents cleared. Throws NotFoundError when `name` does not exist.
    std::vector<std::string> drop(std::string_view name);

  private:
    explicit Manager(std::shared_ptr<detail::ManagerState> state);
    [[nodiscard]] detail::ManagerState& state() const;

    std::shared_ptr<detail::ManagerState> m_state;
};

} // namespace v1
} // namespace cacheman
