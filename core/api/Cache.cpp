#include "base/Names.hpp"

#include "api/State.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <utility>

namespace cacheman::inline v1 {

namespace {

using Buffer = std::map<std::string, detail::PendingEdit, std::less<>>;

[[nodiscard]] bool live(const detail::PendingEdit& edit, double now) {
    return edit.value && (!edit.expires || *edit.expires > now);
}

// The store's items (sorted by key) with the buffered edits (sorted too) laid over them.
template <class Item, class KeyOf, class FromEdit>
std::vector<Item> overlay(std::vector<Item> stored, const Buffer& buffer, double now,
                          const KeyOf& key_of, const FromEdit& from_edit) {
    if (buffer.empty()) {
        return stored;
    }
    std::vector<Item> out;
    out.reserve(stored.size() + buffer.size());
    auto edit = buffer.begin();
    const auto take_edit = [&] {
        if (live(edit->second, now)) {
            out.push_back(from_edit(edit->first, edit->second));
        }
        ++edit;
    };
    for (auto& item : stored) {
        while (edit != buffer.end() && edit->first < key_of(item)) {
            take_edit();
        }
        if (edit != buffer.end() && edit->first == key_of(item)) {
            take_edit();
        } else {
            out.push_back(std::move(item));
        }
    }
    while (edit != buffer.end()) {
        take_edit();
    }
    return out;
}

std::vector<TimeCheck> time_checks(std::vector<SyncCheck> checks) {
    std::sort(checks.begin(), checks.end(),
              [](const SyncCheck& a, const SyncCheck& b) { return a.window < b.window; });
    std::vector<TimeCheck> out;
    for (const auto& check : checks) {
        if (check.window.count() <= 0 || check.edits <= 0) {
            throw UsageError("invalid sync checks: windows and edit counts must be positive");
        }
        if (!out.empty() && out.back().window_seconds == check.window.count()) {
            throw UsageError("invalid sync checks: a window is given twice");
        }
        out.push_back({check.window.count(), check.edits});
    }
    return out;
}

} // namespace

const std::vector<SyncCheck>& default_sync_checks() {
    static const std::vector<SyncCheck> k_defaults = [] {
        std::vector<SyncCheck> checks;
        for (const auto& check : default_time_checks()) {
            checks.push_back({std::chrono::seconds(check.window_seconds), check.count});
        }
        return checks;
    }();
    return k_defaults;
}

// --- detail ----------------------------------------------------------------------------------

namespace detail {

CacheImpl::CacheImpl(std::shared_ptr<ManagerState> owner, std::string cache_name,
                     CacheOptions options)
    : manager(std::move(owner)), name(std::move(cache_name)), mode(options.mode),
      window(time_checks(std::move(options.sync_checks))),
      on_lost_edits(std::move(options.on_lost_edits)) {
    if (mode == WriteMode::write_back) {
        manager->write_backs.push_back(this);
    }
}

CacheImpl::~CacheImpl() {
    auto& registered = manager->write_backs;
    registered.erase(std::remove(registered.begin(), registered.end(), this), registered.end());
}

std::optional<std::string> CacheImpl::get(std::string_view key) const {
    validate_key(key);
    if (const auto found = buffer.find(key); found != buffer.end()) {
        return live(found->second, manager->now()) ? found->second.value : std::nullopt;
    }
    auto found = manager->session->get(name, key);
    return found.ok() && found.value ? std::optional<std::string>(std::move(found.value->value))
                                     : std::nullopt;
}

std::vector<std::string> CacheImpl::keys() const {
    auto stored = manager->session->keys(name).value; // empty when the cache does not exist
    return overlay(
        std::move(stored), buffer, manager->now(), [](const std::string& key) { return key; },
        [](const std::string& key, const PendingEdit&) { return key; });
}

std::size_t CacheImpl::size() const {
    if (buffer.empty()) {
        return manager->session->count(name).value;
    }
    return keys().size();
}

std::vector<Cache::value_type> CacheImpl::items() const {
    // One read transaction: the snapshot is consistent.
    std::vector<Cache::value_type> stored;
    manager->session->scan(name, [&](const engine::EntryView& entry) {
        stored.emplace_back(std::string(entry.key), entry.bytes());
    });
    return overlay(
        std::move(stored), buffer, manager->now(),
        [](const Cache::value_type& item) -> const std::string& { return item.first; },
        [](const std::string& key, const PendingEdit& edit) {
            return Cache::value_type(key, *edit.value);
        });
}

void CacheImpl::set(std::string_view key, std::string_view value,
                    std::optional<std::chrono::milliseconds> ttl) {
    validate_key(key);
    if (ttl && ttl->count() <= 0) {
        throw UsageError("invalid ttl: it must be positive");
    }
    if (mode == WriteMode::write_through) {
        manager->session->set(name, key, value, ttl);
        return;
    }
    std::optional<double> expires;
    if (ttl) {
        // The entry expires `ttl` after this call, not after the commit.
        expires = manager->now() + static_cast<double>(ttl->count()) / 1000.0;
    }
    buffer.insert_or_assign(std::string(key), PendingEdit{std::string(value), expires});
    edited(1);
}

bool CacheImpl::erase(std::string_view key) {
    validate_key(key);
    if (mode == WriteMode::write_through) {
        return manager->session->erase(name, {std::string(key)}).value > 0;
    }
    if (!get(key)) {
        return false;
    }
    buffer.insert_or_assign(std::string(key), PendingEdit{});
    edited(1);
    return true;
}

void CacheImpl::clear() {
    auto present = keys();
    if (present.empty()) {
        return;
    }
    if (mode == WriteMode::write_through) {
        // Keys read in one transaction, erased in another: an entry another process adds in
        // between survives, as if it had been added just after the clear.
        manager->session->erase(name, present);
        return;
    }
    for (auto& key : present) {
        buffer.insert_or_assign(std::move(key), PendingEdit{});
    }
    edited(static_cast<std::int64_t>(present.size()));
}

void CacheImpl::edited(std::int64_t count) {
    const double now = manager->now();
    window.record(now, count, now);
    window.prune(now);
    if (window.save_due(now)) {
        commit();
    }
}

void CacheImpl::commit() {
    if (buffer.empty()) {
        window.clear();
        return;
    }
    std::vector<engine::Write> writes;
    writes.reserve(buffer.size());
    for (const auto& [key, edit] : buffer) {
        writes.push_back({key, edit.value, edit.expires, std::nullopt, {}, {}});
    }
    // All or nothing: on failure the buffer stays. An auto-sync save failing after the commit
    // throws HookError with the edits written.
    const auto clear_buffer = [&] {
        buffer.clear();
        window.clear();
    };
    try {
        manager->session->apply(name, writes);
    } catch (const HookError&) {
        clear_buffer();
        throw;
    }
    clear_buffer();
}

void CacheImpl::close() noexcept {
    const auto report = [&](const Error& error) {
        if (on_lost_edits) {
            try {
                on_lost_edits(error);
            } catch (...) { // a destructor must not throw
            }
        }
    };
    // Only errors that left edits in the buffer lose them; a saver that failed after the commit
    // has already said so on stderr, as it does for the command.
    try {
        commit();
    } catch (const Error& error) {
        if (!buffer.empty()) {
            report(error);
        }
    } catch (const std::exception& error) {
        if (!buffer.empty()) {
            report(StoreError(error.what()));
        }
    } catch (...) { // a destructor must not throw
    }
}

} // namespace detail

// --- Cache -----------------------------------------------------------------------------------

Cache::Cache(std::unique_ptr<detail::CacheImpl> impl) : m_impl(std::move(impl)) {}

Cache::Cache(Cache&& other) noexcept = default;

Cache& Cache::operator=(Cache&& other) noexcept {
    if (this != &other) {
        if (m_impl) {
            m_impl->close();
        }
        m_impl = std::move(other.m_impl);
    }
    return *this;
}

Cache::~Cache() {
    if (m_impl) {
        m_impl->close();
    }
}

detail::CacheImpl& Cache::impl() const {
    if (!m_impl) {
        throw UsageError("use of a moved-from cacheman::Cache");
    }
    return *m_impl;
}

const std::string& Cache::name() const {
    return impl().name;
}

WriteMode Cache::mode() const {
    return impl().mode;
}

std::optional<std::string> Cache::get(std::string_view key) const {
    return impl().get(key);
}

bool Cache::contains(std::string_view key) const {
    return get(key).has_value();
}

std::vector<std::string> Cache::keys() const {
    return impl().keys();
}

std::size_t Cache::size() const {
    return impl().size();
}

bool Cache::empty() const {
    return size() == 0;
}

std::vector<Cache::value_type> Cache::items() const {
    return impl().items();
}

Cache::iterator Cache::begin() const {
    return iterator(std::make_shared<const std::vector<value_type>>(items()));
}

Cache::iterator Cache::end() const {
    return iterator();
}

void Cache::set(std::string_view key, std::string_view value,
                std::optional<std::chrono::milliseconds> ttl) {
    impl().set(key, value, ttl);
}

bool Cache::erase(std::string_view key) {
    return impl().erase(key);
}

void Cache::clear() {
    impl().clear();
}

Cache::Ref Cache::operator[](std::string_view key) {
    return Ref(*this, key);
}

void Cache::save() {
    impl().commit();
}

std::size_t Cache::pending() const {
    return impl().buffer.size();
}

// --- Cache::Ref ------------------------------------------------------------------------------

Cache::Ref& Cache::Ref::operator=(std::string_view value) {
    m_cache->set(m_key, value);
    return *this;
}

Cache::Ref& Cache::Ref::operator=(const Ref& other) {
    if (this != &other) {
        m_cache->set(m_key, other.value());
    }
    return *this;
}

std::optional<std::string> Cache::Ref::get() const {
    return m_cache->get(m_key);
}

std::string Cache::Ref::value() const {
    if (auto found = get()) {
        return std::move(*found);
    }
    throw NotFoundError("no such key '" + m_key + "' in cache '" + m_cache->name() + "'");
}

} // namespace cacheman::inline v1
