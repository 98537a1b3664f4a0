// Namespace::copy_to: a namespace read from one store and written whole into another.
//
// The source is read cache by cache (each scan one snapshot); the receiver writes everything in
// one transaction (Engine::receive). An invalidation between those reads could leave the copy
// with a dependent filled from a parent's old contents and the parent's new ones: each cache's
// generation is taken before anything is read and checked again after the cache was read, so
// that an invalidation reaching any cache before it was read abandons the attempt (the
// receiver rolls back) and the copy starts over.
#include "session/Namespace.hpp"

#include "base/Error.hpp"
#include "base/Names.hpp"

#include <algorithm>
#include <map>

namespace cacheman {

namespace {

// Attempts before a copy of a namespace that keeps being invalidated gives up.
constexpr int k_copy_attempts = 3;

// An invalidation reached a cache while the copy read the namespace.
struct NamespaceChanged {};

bool has_hooks(const engine::CacheSettings& settings) {
    return settings.builder || settings.loader || settings.saver || settings.validator ||
           settings.deleter || settings.pre_processor || settings.post_processor;
}

// The caches of `source` as copy carries them, with the generation each one had.
std::vector<engine::CacheImage> caches_of(engine::Engine& source,
                                          std::map<std::string, engine::Generation>& generations) {
    std::vector<engine::CacheImage> caches;
    for (const auto& summary : source.list()) {
        generations[summary.name] = source.generation(summary.name);
        auto settings = source.settings(summary.name);
        if (!settings) {
            throw NamespaceChanged{}; // dropped since it was listed
        }
        if (settings->is_volatile) {
            throw UsageError("cache " + quoted_for_message(summary.name) +
                             " is volatile: its entries stay where they were made (make it "
                             "persistent with `create --no-volatile`, or drop it, to copy)");
        }
        const bool built = source.count(summary.name, engine::Access::built).status !=
                           engine::Status::unbuilt;
        caches.push_back({summary.name, std::move(*settings), built});
    }
    if (!source.settings_trusted() &&
        std::any_of(caches.begin(), caches.end(),
                    [](const engine::CacheImage& cache) { return has_hooks(cache.settings); })) {
        throw StoreError("refusing to copy hook commands that another user wrote (" +
                         source.name() + "): the copy would run them as yours");
    }
    return caches;
}

// One entry as a write for the receiver, with the contents it refers to apart from its large
// value (which the write itself carries).
engine::Write write_of(const engine::EntryView& entry, std::vector<engine::LargeValue>& contents) {
    engine::Write write{std::string(entry.key), std::string(entry.value), entry.expires,
                        std::nullopt,           {},                       std::nullopt};
    const auto large = std::find_if(contents.begin(), contents.end(), [&](const auto& content) {
        return content.digest == entry.value_content;
    });
    if (!entry.value_content.empty()) {
        if (large == contents.end()) {
            throw StoreError("the entry " + quoted_for_message(entry.key) +
                             " lost its large value");
        }
        write.value = "";
        write.large_value = *large;
        contents.erase(large);
    }
    for (const auto& content : contents) {
        write.contents.push_back(content.digest);
    }
    return write;
}

std::optional<Namespace::Copied> copy_once(engine::Engine& source,
                                           const std::function<engine::Engine&()>& receiver,
                                           bool replace) {
    std::map<std::string, engine::Generation> generations;
    engine::NamespaceImage image{caches_of(source, generations), source.edges(), {}};
    if (image.caches.empty()) {
        throw NotFoundError("no caches to copy in " + source.name());
    }
    Namespace::Copied copied{image.caches.size(), 0, image.edges.size()};
    image.entries = [&](const std::string& cache, const engine::EntryFeed& feed) {
        const auto status = source.scan(cache, engine::Access::raw, [&](const auto& entry) {
            auto contents = entry.contents ? entry.contents() : std::vector<engine::LargeValue>{};
            const engine::Write write = write_of(entry, contents);
            feed(write, contents);
            ++copied.entries;
        });
        if (status != engine::Status::ok || source.generation(cache) != generations[cache]) {
            throw NamespaceChanged{};
        }
    };
    if (!receiver().receive(image, replace)) {
        return std::nullopt;
    }
    return copied;
}

} // namespace

std::optional<Namespace::Copied> Namespace::copy_to(const std::function<Namespace&()>& receiver,
                                                    bool replace) {
    const auto receiving_engine = [&]() -> engine::Engine& {
        Namespace& there = receiver();
        if (there.store_name() == store_name() &&
            there.location().name_space == location().name_space) {
            throw UsageError("cannot copy a namespace onto itself (" + store_name() + ")");
        }
        return *there.m_engine;
    };
    for (int attempt = 1;; ++attempt) {
        try {
            return copy_once(*m_engine, receiving_engine, replace);
        } catch (const NamespaceChanged&) {
            if (attempt == k_copy_attempts) {
                throw StoreError("the namespace kept being invalidated while it was copied from " +
                                 store_name() + "; nothing was copied");
            }
        }
    }
}

} // namespace cacheman
