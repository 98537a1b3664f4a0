// What the public Manager and Cache hold behind their pointers: a session (session/Namespace.hpp)
// shared by the Manager and its Caches, so that the library applies the same policies as the
// command (lazy build, auto-sync, lookup counting, the deleter on drop).
#pragma once

#include "hooks/AutoSync.hpp"
#include "session/Namespace.hpp"

#include <cacheman/cacheman.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cacheman::inline v1::detail {

struct CacheImpl;

struct ManagerState {
    explicit ManagerState(std::unique_ptr<Namespace> opened)
        : session(std::move(opened)), path(session->store_name()) {}
    ManagerState(const ManagerState&) = delete;
    ManagerState& operator=(const ManagerState&) = delete;

    // Unix seconds, by the store's clock (the injected one when there is one).
    [[nodiscard]] double now() const { return session->now(); }
    // Commits the buffered edits of every live write-back Cache, so that an invalidation or a
    // drop acts on them too.
    void commit_write_backs();

    std::unique_ptr<Namespace> session;
    std::string path;
    std::vector<CacheImpl*> write_backs; // registered by CacheImpl for as long as it lives
};

// A buffered edit of a write-back Cache: a value to set (with its expiry), or an erase.
struct PendingEdit {
    std::optional<std::string> value; // nullopt: erased
    std::optional<double> expires;    // unix seconds
};

struct CacheImpl {
    CacheImpl(std::shared_ptr<ManagerState> owner, std::string cache_name, CacheOptions options);
    ~CacheImpl();
    CacheImpl(const CacheImpl&) = delete;
    CacheImpl& operator=(const CacheImpl&) = delete;

    // Reads: the store's live entries, overlaid with the buffered edits in write-back mode. A
    // cache that does not exist reads as empty.
    [[nodiscard]] std::optional<std::string> get(std::string_view key) const;
    [[nodiscard]] std::vector<std::string> keys() const;
    [[nodiscard]] std::size_t size() const;
    [[nodiscard]] std::vector<Cache::value_type> items() const;

    // Writes: one transaction each in write-through mode; buffered and counted in write-back
    // mode, committing when the sync checks say a save is due.
    void set(std::string_view key, std::string_view value,
             std::optional<std::chrono::milliseconds> ttl);
    bool erase(std::string_view key);
    void clear();

    // Writes every buffered edit in one transaction (erases are removals). On failure nothing is
    // written and the edits stay buffered. Then runs the saver if the cache's auto-sync rules
    // (`cacheman create --saver`) say so, which may throw HookError.
    void commit();
    // The final commit, for the destructor: never throws; when the edits could not be written,
    // the error goes to on_lost_edits.
    void close() noexcept;

    std::shared_ptr<ManagerState> manager;
    std::string name;
    WriteMode mode;
    EditWindow window;
    std::map<std::string, PendingEdit, std::less<>> buffer;
    std::function<void(const Error&)> on_lost_edits;

  private:
    // Counts `count` edits made now, and commits when a save is due (as the seed checks at each
    // edit).
    void edited(std::int64_t count);
};

} // namespace cacheman::v1::detail
