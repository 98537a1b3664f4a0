// The session (session/Namespace.hpp): the policies around the engine's calls. Lazy build,
// lookup counting, auto-sync after edits (a run's stored result included), the deleter on drop.
// Hooks are real shell commands that leave traces in the test's directory.
#include "TempDir.hpp"
#include "TestClock.hpp"
#include "base/Error.hpp"
#include "engine/sqlite/SqliteEngine.hpp"
#include "hooks/AutoSync.hpp"
#include "session/Namespace.hpp"

#include <cacheman/cacheman.hpp>

#include <catch2/catch.hpp>
#include <fstream>

using namespace cacheman;
using Names = std::vector<std::string>;

namespace {

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

// Single quotes for the shell.
std::string quoted(const std::filesystem::path& path) {
    return "'" + path.string() + "'";
}

struct Session {
    test::TempDir tmp;
    test::TestClock clock;
    Location location{(tmp.path() / "store").string(), "ns", {}};
    // Where hooks leave their traces.
    std::filesystem::path trace = tmp.path() / "trace";

    // A session over a store in memory.
    [[nodiscard]] std::unique_ptr<Namespace> in_memory() const {
        return std::make_unique<Namespace>(std::make_unique<sqlite::SqliteEngine>(clock.options()),
                                           location);
    }
    // A session over a store file in the test's directory.
    [[nodiscard]] std::unique_ptr<Namespace> on_file() const {
        return Namespace::open(location, engine::OpenMode::create, clock.options());
    }
    // A shell command that appends `word` to the trace, then runs `then`.
    [[nodiscard]] std::string traced(const std::string& word, const std::string& then) const {
        return "echo " + word + " >> " + quoted(trace) + "; " + then;
    }
};

const std::string k_builder = R"(printf '{"key":"k","value":"v"}\n')";

std::optional<std::string> value_of(Namespace& ns, std::string_view cache, std::string_view key) {
    const auto found = ns.get(cache, key);
    REQUIRE(found.ok());
    return found.value ? std::optional<std::string>(found.value->value) : std::nullopt;
}

std::optional<engine::CacheSummary> summary_of(const std::vector<engine::CacheSummary>& caches,
                                               std::string_view cache) {
    for (const auto& summary : caches) {
        if (summary.name == cache) {
            return summary;
        }
    }
    return std::nullopt;
}

} // namespace

// --- lazy build ----------------------------------------------------------------------------------

TEST_CASE("session: a read of an unbuilt cache runs its builder first", "[session][build]") {
    Session s;
    auto ns = s.in_memory();
    ns->configure("c", [&](engine::CacheSettings& settings) {
        settings.builder = s.traced("built", k_builder);
    });
    CHECK(ns->stored_keys("c").value.empty()); // the hooks' plumbing never builds
    CHECK_FALSE(std::filesystem::exists(s.trace));

    CHECK(value_of(*ns, "c", "k") == "v");
    CHECK(read_file(s.trace) == "built\n");
    CHECK(ns->keys("c").value == Names{"k"});
    CHECK(ns->count("c").value == 1);
    CHECK(read_file(s.trace) == "built\n"); // built once

    // Cleared: the next read builds again; so does the next edit, before it writes.
    ns->invalidate("c", std::nullopt, false);
    CHECK(ns->keys("c").value == Names{"k"});
    CHECK(read_file(s.trace) == "built\nbuilt\n");
    ns->invalidate("c", std::nullopt, false);
    ns->set("c", "mine", "1");
    CHECK(read_file(s.trace) == "built\nbuilt\nbuilt\n");
    CHECK(ns->keys("c").value == Names{"k", "mine"});

    std::string exported;
    CHECK(ns->export_entries("c", [&](std::string_view chunk) { exported += chunk; }) ==
          Status::ok);
    CHECK(exported ==
          "{\"key\": \"k\", \"value\": \"v\"}\n{\"key\": \"mine\", \"value\": \"1\"}\n");
}

TEST_CASE("session: a failing builder is a hook error and leaves the cache as it was",
          "[session][build]") {
    Session s;
    auto ns = s.in_memory();
    ns->configure("c", [](engine::CacheSettings& settings) { settings.builder = "exit 3"; });
    CHECK_THROWS_AS(ns->get("c", "k"), HookError);
    ns->configure("c", [](engine::CacheSettings& settings) { settings.builder = "echo nonsense"; });
    CHECK_THROWS_WITH(ns->keys("c"), Catch::Contains("hook output refused"));
    CHECK(ns->stored_keys("c").value.empty());
    CHECK(ns->get("missing", "k").status == Status::no_cache);
}

// --- lookup counting -----------------------------------------------------------------------------

TEST_CASE("session: a get counts a hit or a miss; stats folds them in", "[session][stats]") {
    Session s;
    auto ns = s.on_file();
    ns->set("c", "k", "v");
    CHECK(value_of(*ns, "c", "k") == "v");
    CHECK(value_of(*ns, "c", "k") == "v");
    CHECK_FALSE(value_of(*ns, "c", "missing"));
    CHECK(ns->get("nope", "k").status == Status::no_cache); // no cache: nothing to count
    CHECK(ns->keys("c").ok());                              // only lookups of a key count
    CHECK(summary_of(ns->list(), "c")->hits == 0);          // not folded yet

    const auto stats = ns->stats();
    CHECK(summary_of(stats, "c")->hits == 2);
    CHECK(summary_of(stats, "c")->misses == 1);
    CHECK_FALSE(summary_of(stats, "nope"));

    // Another session on the same store sees them, and adds its own.
    auto other = s.on_file();
    CHECK_FALSE(value_of(*other, "c", "missing"));
    CHECK(summary_of(other->stats(), "c")->misses == 2);
    CHECK(summary_of(ns->list(), "c")->hits == 2);
}

TEST_CASE("session: a run counts its lookup", "[session][stats][run]") {
    Session s;
    auto ns = s.on_file();
    RunRequest request;
    request.spec.argv = {"true"};
    request.spec.cwd = s.tmp.path().string();
    const auto ignore = [](std::string_view) {};
    CHECK(ns->run(request, ignore, ignore, [] {}).source == RunSource::executed);
    CHECK(ns->run(request, ignore, ignore, [] {}).source == RunSource::hit);
    const auto stats = summary_of(ns->stats(), "run");
    REQUIRE(stats);
    CHECK(stats->hits == 1);
    CHECK(stats->misses == 1);
}

TEST_CASE("api: Cache::get lookups are counted as the command counts them", "[session][api]") {
    Session s;
    {
        auto m = Manager::open({.dir = s.location.dir, .name_space = s.location.name_space});
        Cache c = m.cache("c");
        c.set("k", "v");
        CHECK(c.get("k") == "v");
        CHECK_FALSE(c.get("missing"));
        CHECK_FALSE(c.get("other"));
        CHECK(c.contains("k"));
    }
    const auto stats = summary_of(s.on_file()->stats(), "c"); // what `cacheman stats` shows
    REQUIRE(stats);
    CHECK(stats->hits == 2);
    CHECK(stats->misses == 2);
}

// --- auto-sync -----------------------------------------------------------------------------------

TEST_CASE("session: an edit runs the saver when the auto-sync rules hold", "[session][autosync]") {
    Session s;
    auto ns = s.in_memory();
    const auto saved = s.tmp.path() / "saved.jsonl";
    ns->configure("c", [&](engine::CacheSettings& settings) {
        settings.saver = s.traced("saved", "cat > " + quoted(saved));
        settings.autosync_checks = parse_time_checks("60:2");
    });
    ns->set("c", "a", "1");
    CHECK_FALSE(std::filesystem::exists(s.trace)); // one edit of the two the rule wants
    s.clock.advance(1);
    ns->set("c", "b", "2");
    CHECK(read_file(s.trace) == "saved\n");
    CHECK(read_file(saved) ==
          "{\"key\": \"a\", \"value\": \"1\"}\n{\"key\": \"b\", \"value\": \"2\"}\n");

    // The save forgot the counts: the rule needs two new edits.
    ns->erase("c", {"a"});
    CHECK(read_file(s.trace) == "saved\n");
    ns->apply("c", {{"c", "3", std::nullopt, std::nullopt, {}, {}}});
    CHECK(read_file(s.trace) == "saved\nsaved\n");
    CHECK(read_file(saved) ==
          "{\"key\": \"b\", \"value\": \"2\"}\n{\"key\": \"c\", \"value\": \"3\"}\n");

    // An edit that changes nothing counts nothing.
    ns->erase("c", {"never there"});
    ns->erase("c", {"never there"});
    CHECK(read_file(s.trace) == "saved\nsaved\n");

    // Edits too far apart for the rule: no save.
    ns->set("c", "d", "4");
    s.clock.advance(61);
    ns->set("c", "e", "5");
    CHECK(read_file(s.trace) == "saved\nsaved\n");

    // Auto-sync off: no save however many edits.
    ns->configure("c", [](engine::CacheSettings& settings) { settings.autosync = false; });
    ns->set("c", "f", "6");
    ns->set("c", "g", "7");
    CHECK(read_file(s.trace) == "saved\nsaved\n");
}

TEST_CASE("session: a failing auto-sync saver keeps the edit", "[session][autosync]") {
    Session s;
    auto ns = s.in_memory();
    ns->configure("c", [&](engine::CacheSettings& settings) {
        settings.saver = "exit 1";
        settings.autosync_checks = parse_time_checks("60:1");
    });
    CHECK_THROWS_WITH(ns->set("c", "k", "v"),
                      Catch::Contains("auto-sync save failed; the command's own change was kept"));
    CHECK(value_of(*ns, "c", "k") == "v");
}

TEST_CASE("session: a run's stored result is an edit like any other", "[session][autosync][run]") {
    Session s;
    auto ns = s.in_memory();
    const auto saved = s.tmp.path() / "saved.jsonl";
    ns->configure("run", [&](engine::CacheSettings& settings) {
        settings.saver = "cat > " + quoted(saved);
        settings.autosync_checks = parse_time_checks("60:1");
    });
    RunRequest request;
    request.spec.argv = {"true"};
    request.spec.cwd = s.tmp.path().string();
    const auto ignore = [](std::string_view) {};
    CHECK(ns->run(request, ignore, ignore, [] {}).source == RunSource::executed);
    const std::string key = ns->explain(request).key.hex;
    CHECK(read_file(saved).find("{\"key\": \"" + key + "\"") == 0);
    CHECK(ns->count("run").value == 1);
}

// --- drop ----------------------------------------------------------------------------------------

TEST_CASE("session: drop runs the deleter, then drops", "[session][drop]") {
    Session s;
    auto ns = s.in_memory();
    ns->configure("c", [&](engine::CacheSettings& settings) {
        settings.deleter = s.traced("\"deleted $CACHEMAN_CACHE\"", "true");
    });
    ns->depend("c", "child");
    ns->set("child", "k", "v");
    const auto dropped = ns->drop("c");
    REQUIRE(dropped.ok());
    CHECK(dropped.value == Names{"child"});
    CHECK(read_file(s.trace) == "deleted c\n");
    CHECK_FALSE(ns->settings("c"));
    CHECK(ns->keys("child").value.empty());
    CHECK(ns->drop("c").status == Status::no_cache);
    CHECK(read_file(s.trace) == "deleted c\n");

    // A failing deleter keeps the cache.
    ns->configure("d", [](engine::CacheSettings& settings) { settings.deleter = "exit 1"; });
    ns->set("d", "k", "v");
    CHECK_THROWS_AS(ns->drop("d"), HookError);
    CHECK(value_of(*ns, "d", "k") == "v");
}
