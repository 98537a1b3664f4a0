#include "base/Names.hpp"

#include "api/State.hpp"

#include <algorithm>
#include <chrono>
#include <climits>

namespace cacheman::inline v1 {

namespace {

// The value of a call on an existing cache; NotFoundError when the cache does not exist.
template <class T> T found(Result<T> result, std::string_view name) {
    if (result.status == Status::no_cache) {
        throw NotFoundError("no such cache '" + std::string(name) + "'");
    }
    return std::move(result.value);
}

} // namespace

namespace detail {

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
    if (options.busy_timeout.count() < 0) {
        throw UsageError("invalid busy timeout: it is negative");
    }
    const auto given = [](const std::string& text) {
        return text.empty() ? std::nullopt : std::optional<std::string>(text);
    };
    const Location location =
        resolve_location(given(options.dir), given(options.name_space), process_env);
    engine::EngineOptions engine_options;
    engine_options.busy_timeout_ms = static_cast<int>(
        std::min<std::chrono::milliseconds::rep>(options.busy_timeout.count(), INT_MAX));
    engine_options.clock = options.clock;
    return Manager(std::make_shared<detail::ManagerState>(
        Namespace::open(location, engine::OpenMode::create, engine_options)));
}

const std::string& Manager::path() const {
    return state().path;
}

Cache Manager::cache(std::string_view name, CacheOptions options) {
    static_cast<void>(state()); // throws for a moved-from Manager
    validate_cache_name(name);
    return Cache(
        std::make_unique<detail::CacheImpl>(m_state, std::string(name), std::move(options)));
}

Cache Manager::cache(std::string_view name, WriteMode mode) {
    CacheOptions options;
    options.mode = mode;
    return cache(name, std::move(options));
}

std::vector<std::string> Manager::caches() {
    std::vector<std::string> names;
    for (auto& summary : state().session->list()) {
        names.push_back(std::move(summary.name));
    }
    return names;
}

std::vector<std::string> Manager::dependents(std::string_view name) {
    return found(state().session->dependencies(name, true), name).children;
}

void Manager::depend(std::string_view parent, std::string_view child) {
    state().session->depend(parent, child);
}

void Manager::undepend(std::string_view parent, std::string_view child) {
    if (!state().session->undepend(parent, child)) {
        throw NotFoundError("no dependency '" + std::string(parent) + "' -> '" +
                            std::string(child) + "'");
    }
}

std::vector<std::string> Manager::invalidate(std::string_view name) {
    state().commit_write_backs();
    return found(state().session->invalidate(name, std::nullopt, false), name);
}

std::vector<std::string> Manager::invalidate(std::string_view name, std::string_view key) {
    state().commit_write_backs();
    return found(state().session->invalidate(name, std::string(key), false), name);
}

std::vector<std::string> Manager::drop(std::string_view name) {
    state().commit_write_backs();
    return found(state().session->drop(name), name); // runs the deleter first
}

} // namespace cacheman::v1
