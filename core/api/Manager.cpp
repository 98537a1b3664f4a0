#include "base/Clock.hpp"
#include "base/Names.hpp"

#include "api/State.hpp"

#include <functional>
#include <algorithm>
#include <chrono>
#include <climits>

namespace cacheman::v1 {

namespace detail {

double ManagerState::now() const {
    return unix_now(clock);
}

void ManagerState::commit_write_backs() {
    for (auto* cache : write_backs) {
        cache->commit();
    }
}

} // namespace detail

Manager::Manager(std::shared_ptr<detail::ManagerState> state) : m_state(std::move(state)) {}
Manager::Manager(Manager&&) noexcept = default;
Manager& Manager::operator=(Manager&&) noexcept = default;
Manager::~Manager() = default;

detail::ManagerState& Manager::state() const {
    if (!m_state) {
        throw UsageError("use of a moved-from cacheman::Manager");
    }
    return *m_state;
}

Manager Manager::open(ManagerOptions options) {
    return std::invoke([&] {
        if (options.busy_timeout.count() < 0) {
            throw UsageError("invalid busy timeout: it is negative");
        }
        const auto given = [](const std::string& text) {
            return text.empty() ? std::nullopt : std::optional<std::string>(text);
        };
        const Location location =
            resolve_location(given(options.dir), given(options.name_space), process_env);
        StoreOptions store_options;
        store_options.busy_timeout_ms = static_cast<int>(
            std::min<std::chrono::milliseconds::rep>(options.busy_timeout.count(), INT_MAX));
        store_options.clock = options.clock;
        store_options.volatile_path = [location] {
            return volatile_store_path(location, process_env);
        };
        Store store = Store::open(location, OpenMode::create, std::move(store_options));
        return Manager(std::make_shared<detail::ManagerState>(std::move(store), location,
                                                              std::move(options.clock)));
    });
}

const std::string& Manager::path() const {
    return state().store.path();
}

Cache Manager::cache(std::string_view name, CacheOptions options) {
    return std::invoke([&] {
        static_cast<void>(state()); // throws for a moved-from Manager
        validate_cache_name(name);
        return Cache(
            std::make_unique<detail::CacheImpl>(m_state, std::string(name), std::move(options)));
    });
}

Cache Manager::cache(std::string_view name, WriteMode mode) {
    CacheOptions options;
    options.mode = mode;
    return cache(name, std::move(options));
}

std::vector<std::string> Manager::caches() {
    return std::invoke([&] {
        std::vector<std::string> names;
        for (auto& summary : state().store.list()) {
            names.push_back(std::move(summary.name));
        }
        return names;
    });
}

std::vector<std::string> Manager::dependents(std::string_view name) {
    return std::invoke([&] { return state().store.dependencies(name, true).children; });
}

void Manager::depend(std::string_view parent, std::string_view child) {
    std::invoke([&] { state().store.depend(parent, child); });
}

void Manager::undepend(std::string_view parent, std::string_view child) {
    std::invoke([&] { state().store.undepend(parent, child); });
}

std::vector<std::string> Manager::invalidate(std::string_view name) {
    return std::invoke([&] {
        state().commit_write_backs();
        return state().store.invalidate(name, std::nullopt, false);
    });
}

std::vector<std::string> Manager::invalidate(std::string_view name, std::string_view key) {
    return std::invoke([&] {
        state().commit_write_backs();
        return state().store.invalidate(name, std::string(key), false);
    });
}

std::vector<std::string> Manager::drop(std::string_view name) {
    return std::invoke([&] {
        state().commit_write_backs();
        return state().hooks.drop(std::string(name)); // runs the deleter first
    });
}

} // namespace cacheman::v1
