// The engine conformance suite: the contract of engine/Engine.hpp, written only against
// `engine::Engine&` and run for every engine. An engine joins by adding a factory below to
// k_engines' list; nothing else here may know which engine it tests.
#include "EnvVar.hpp"
#include "TempDir.hpp"
#include "TestClock.hpp"
#include "base/Error.hpp"
#include "base/Hash.hpp"
#include "base/Posix.hpp"
#include "engine/Engine.hpp"
#include "engine/sqlite/SqliteEngine.hpp"
#ifdef CACHEMAN_HAVE_POSTGRESQL
#include "engine/postgres/PgEngine.hpp"
#endif
#include "hooks/AutoSync.hpp"

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <unistd.h>
#include <functional>
#include <latch>
#include <map>
#include <memory>
#include <stdexcept>
#include <thread>

using namespace cacheman;
using engine::Access;
using engine::Status;
using Names = std::vector<std::string>;
using std::chrono::seconds;

namespace {

// --- the engines under test ----------------------------------------------------------------------
// Each factory holds one engine (`store`) on a fresh, empty store and a clock (`clock`) that
// moves only when the test says so. `another()` opens a second engine on the same store, as
// another process would, or returns nullptr when the store cannot be shared.

// Each factory says whether its engine has volatile caches (k_volatile): one without them must
// refuse to make a cache volatile (UsageError) and leave everything as it was.

struct SqliteInMemory {
    static constexpr bool k_volatile = true;
    static std::string namespace_name() { return {}; }
    test::TestClock clock;
    sqlite::SqliteEngine store{clock.options()};
    std::unique_ptr<engine::Engine> another() { return nullptr; }
};

struct SqliteOnFile {
    static constexpr bool k_volatile = true;
    test::TempDir tmp;
    // Volatile caches keep their contents in the runtime directory: keep it in the test's.
    test::EnvVar runtime{"CACHEMAN_RUNTIME_DIR", (tmp.path() / "runtime").c_str()};
    test::TestClock clock;
    Location location{(tmp.path() / "store").string(), "ns", {}};
    sqlite::SqliteEngine store{location, engine::OpenMode::create, clock.options()};
    [[nodiscard]] std::string namespace_name() const { return location.name_space; }
    std::unique_ptr<engine::Engine> another() {
        return std::make_unique<sqlite::SqliteEngine>(location, engine::OpenMode::write,
                                                      clock.options());
    }
};

#ifdef CACHEMAN_HAVE_POSTGRESQL
// A namespace of its own on the test server (CACHEMAN_PG_TEST_URL, a URL: ctest starts a
// throwaway cluster for the unit tests, tests/pg/cluster), so each test starts on an empty store.
struct PostgresServer {
    static constexpr bool k_volatile = false; // refused on a shared store (PgEngine.hpp)
    static std::string url() {
        const char* url = std::getenv("CACHEMAN_PG_TEST_URL");
        if (url == nullptr || *url == '\0') {
            throw std::runtime_error("CACHEMAN_PG_TEST_URL is not set: run the tests with ctest, "
                                     "which starts a PostgreSQL cluster for them");
        }
        return url;
    }
    static std::string fresh_namespace() {
        static int counter = 0;
        // Appended piece by piece: g++ 12 -Wrestrict misreads the chained concatenation.
        std::string name = "t";
        for (const long long part : {static_cast<long long>(::getpid()),
                                     static_cast<long long>(++counter),
                                     static_cast<long long>(std::time(nullptr))}) {
            name += std::to_string(part);
            name += '_';
        }
        name.pop_back();
        return name;
    }
    test::TestClock clock;
    std::string name_space = fresh_namespace();
    postgres::PgEngine store{url(), name_space, engine::OpenMode::create, clock.options()};
    [[nodiscard]] std::string namespace_name() const { return name_space; }
    std::unique_ptr<engine::Engine> another() {
        return std::make_unique<postgres::PgEngine>(url(), name_space, engine::OpenMode::write,
                                                    clock.options());
    }
};
#define ENGINE_TEST(name, tags)                                                                    \
    TEMPLATE_TEST_CASE(name, "[engine]" tags, SqliteInMemory, SqliteOnFile, PostgresServer)
#else
#define ENGINE_TEST(name, tags)                                                                    \
    TEMPLATE_TEST_CASE(name, "[engine]" tags, SqliteInMemory, SqliteOnFile)
#endif

constexpr double k_t0 = test::TestClock::k_start;
const auto k_bucket0 = static_cast<std::int64_t>(k_t0);

// --- helpers -------------------------------------------------------------------------------------

// Makes `cache` volatile (with `more` settings) where the engine has volatile caches and says
// true; where it has none, checks that it refuses and that the cache is as it was, and says
// false.
template <class Factory>
bool make_volatile(engine::Engine& e, std::string_view cache,
                   const std::function<void(engine::CacheSettings&)>& more = {}) {
    const auto edit = [&](engine::CacheSettings& s) {
        s.is_volatile = true;
        if (more) {
            more(s);
        }
    };
    if (Factory::k_volatile) {
        e.configure(cache, edit);
        return true;
    }
    const auto before = e.settings(cache);
    CHECK_THROWS_AS(e.configure(cache, edit), UsageError);
    CHECK(e.settings(cache).has_value() == before.has_value());
    return false;
}

engine::WriteSource source_of(std::vector<engine::Write> writes) {
    auto held = std::make_shared<std::vector<engine::Write>>(std::move(writes));
    return [held, next = std::size_t{0}](engine::Write& write) mutable {
        if (next == held->size()) {
            return false;
        }
        write = (*held)[next++];
        return true;
    };
}

engine::Write put(std::string key, std::string value, std::optional<Duration> ttl = std::nullopt) {
    return {std::move(key), std::move(value), std::nullopt, ttl, {}, {}};
}

engine::Write removal(std::string key) {
    return {std::move(key), std::nullopt, std::nullopt, std::nullopt, {}, {}};
}

engine::Edited apply(engine::Engine& e, std::string_view cache, std::vector<engine::Write> writes) {
    const auto result = e.apply(cache, source_of(std::move(writes)), Access::raw, std::nullopt);
    REQUIRE(result.ok());
    return result.value;
}

void set(engine::Engine& e, std::string_view cache, const std::string& key,
         const std::string& value, std::optional<Duration> ttl = std::nullopt) {
    apply(e, cache, {put(key, value, ttl)});
}

std::optional<engine::Entry> entry_of(engine::Engine& e, std::string_view cache,
                                      std::string_view key) {
    auto found = e.get(cache, key, Access::raw);
    REQUIRE(found.ok());
    return found.value;
}

std::optional<std::string> value_of(engine::Engine& e, std::string_view cache,
                                    std::string_view key) {
    auto found = entry_of(e, cache, key);
    return found ? std::optional<std::string>(found->value) : std::nullopt;
}

Names keys_of(engine::Engine& e, std::string_view cache) {
    auto keys = e.keys(cache, Access::raw);
    REQUIRE(keys.ok());
    return keys.value;
}

struct Seen {
    std::string key;
    std::string value;
    std::optional<double> expires;
};

std::vector<Seen> scan_of(engine::Engine& e, std::string_view cache) {
    std::vector<Seen> seen;
    REQUIRE(e.scan(cache, Access::raw, [&](const engine::EntryView& entry) {
        seen.push_back({std::string(entry.key), entry.bytes(), entry.expires});
    }) == Status::ok);
    return seen;
}

Names keys_in(const std::vector<Seen>& seen) {
    Names keys;
    for (const auto& entry : seen) {
        keys.push_back(entry.key);
    }
    return keys;
}

std::optional<engine::CacheSummary> summary_of(engine::Engine& e, std::string_view cache) {
    for (auto& summary : e.list()) {
        if (summary.name == cache) {
            return summary;
        }
    }
    return std::nullopt;
}

Names cache_names(engine::Engine& e) {
    Names names;
    for (const auto& summary : e.list()) {
        names.push_back(summary.name);
    }
    return names;
}

// The settings as readable lines, so that a mismatch shows which field differs.
Names fields(const engine::CacheSettings& s) {
    const auto text = [](const std::optional<std::string>& v) { return v ? "'" + *v + "'" : "-"; };
    return {"builder " + text(s.builder),
            "loader " + text(s.loader),
            "saver " + text(s.saver),
            "validator " + text(s.validator),
            "deleter " + text(s.deleter),
            "pre " + text(s.pre_processor),
            "post " + text(s.post_processor),
            "ttl " + (s.default_ttl ? std::to_string(s.default_ttl->count()) : "-"),
            std::string("volatile ") + (s.is_volatile ? "yes" : "no"),
            "autosync " + (s.autosync ? std::string(*s.autosync ? "on" : "off") : "-"),
            "checks " + (s.autosync_checks ? format_time_checks(*s.autosync_checks) : "-")};
}

const Names k_default_settings = fields(engine::CacheSettings{});

} // namespace

// --- reads and edits of one cache ----------------------------------------------------------------

ENGINE_TEST("engine: set, get, overwrite, erase, binary values", "") {
    TestType t;
    engine::Engine& e = t.store;
    CHECK(e.get("c", "k", Access::raw).status == Status::no_cache);
    CHECK(e.keys("c", Access::raw).status == Status::no_cache);
    CHECK(e.count("c", Access::raw).status == Status::no_cache);
    CHECK(e.scan("c", Access::raw, [](const engine::EntryView&) {}) == Status::no_cache);

    set(e, "c", "k", "v1");
    CHECK(value_of(e, "c", "k") == "v1");
    set(e, "c", "k", std::string("\0bin\xFF", 5));
    CHECK(value_of(e, "c", "k") == std::string("\0bin\xFF", 5));
    CHECK_FALSE(value_of(e, "c", "missing"));
    set(e, "c", "j", "");
    CHECK(value_of(e, "c", "j") == "");
    set(e, "c", "", "the empty key");
    CHECK(value_of(e, "c", "") == "the empty key");
    CHECK(keys_of(e, "c") == Names{"", "j", "k"});

    const auto erased = e.erase("c", {"k", "missing"}, Access::raw);
    REQUIRE(erased.ok());
    CHECK(erased.value.changed == 1);
    CHECK(e.erase("c", {"k"}, Access::raw).value.changed == 0);
    CHECK(e.erase("nope", {"k"}, Access::raw).status == Status::no_cache);
    CHECK(cache_names(e) == Names{"c"}); // erase creates nothing
    CHECK(keys_of(e, "c") == Names{"", "j"});
}

ENGINE_TEST("engine: apply writes and removes in one batch, all or nothing", "") {
    TestType t;
    engine::Engine& e = t.store;
    apply(e, "c", {put("a", "1"), put("b", "1")});
    const auto edited = apply(e, "c", {removal("a"), put("c", "3"), put("b", "2")});
    CHECK(edited.changed == 3);
    CHECK(keys_of(e, "c") == Names{"b", "c"});
    CHECK(value_of(e, "c", "b") == "2");
    apply(e, "c", {removal("never there")}); // not an error
    CHECK(keys_of(e, "c") == Names{"b", "c"});
    // Within a batch the last write of a key wins.
    apply(e, "c", {put("d", "1"), removal("d"), put("e", "1"), put("e", "2")});
    CHECK(keys_of(e, "c") == Names{"b", "c", "e"});
    CHECK(value_of(e, "c", "e") == "2");

    // A source that throws half-way abandons the batch: nothing written, no cache created.
    int calls = 0;
    const engine::WriteSource failing = [&calls](engine::Write& write) {
        if (calls++ % 2 == 0) {
            write = put("written?", "x");
            return true;
        }
        throw std::runtime_error("the source failed");
    };
    CHECK_THROWS_WITH(e.apply("c", failing, Access::raw, std::nullopt), "the source failed");
    CHECK_THROWS_WITH(e.apply("fresh", failing, Access::raw, std::nullopt), "the source failed");
    CHECK(keys_of(e, "c") == Names{"b", "c", "e"});
    CHECK(cache_names(e) == Names{"c"});

    // So does a bad key anywhere in the batch.
    CHECK_THROWS_AS(e.apply("c", source_of({put("x", "1"), put(std::string("a\0b", 3), "2")}),
                            Access::raw, std::nullopt),
                    UsageError);
    CHECK(keys_of(e, "c") == Names{"b", "c", "e"});

    // A write that creates its cache creates it with default settings.
    const auto settings = e.settings("c");
    REQUIRE(settings);
    CHECK(fields(*settings) == k_default_settings);
}

ENGINE_TEST("engine: names that differ only in case, or look like SQL, are distinct caches", "") {
    TestType t;
    engine::Engine& e = t.store;
    const Names names{"A",
                      "a",
                      "depends",
                      "caches",
                      "sqlite_master",
                      "x\"; DROP TABLE depends; --",
                      "x'); DROP TABLE caches; --",
                      "\xE6\x97\xA5"};
    for (const auto& name : names) {
        set(e, name, "k", name);
    }
    for (const auto& name : names) {
        CHECK(value_of(e, name, "k") == name);
    }
    e.depend("A", "a");
    CHECK(e.list().size() == names.size());
    CHECK(e.invalidate("A", std::nullopt, false, "invalidate").value == Names{"A", "a"});
    CHECK(keys_of(e, "depends") == Names{"k"});
    CHECK(keys_of(e, "caches") == Names{"k"});
    CHECK(e.check().healthy());
}

ENGINE_TEST("engine: keys and scans come back in byte order", "") {
    TestType t;
    engine::Engine& e = t.store;
    for (const char* key : {"b", "B", "a", "\xC3\xA9", "A", "aa", "\x7F"}) {
        set(e, "c", key, std::string("v-") + key);
    }
    const Names order{"A", "B", "a", "aa", "b", "\x7F", "\xC3\xA9"};
    CHECK(keys_of(e, "c") == order);
    const auto seen = scan_of(e, "c");
    CHECK(keys_in(seen) == order);
    for (const auto& entry : seen) {
        CHECK(entry.value == "v-" + entry.key);
    }
}

ENGINE_TEST("engine: count and scan see the live entries", "") {
    TestType t;
    engine::Engine& e = t.store;
    set(e, "c", "a", "1");
    set(e, "c", "b", "2", seconds(5));
    set(e, "c", "c", "3", seconds(50));
    const auto counted = e.count("c", Access::raw);
    REQUIRE(counted.ok());
    CHECK(counted.value == 3);
    t.clock.advance(5);
    CHECK(e.count("c", Access::raw).value == 2);
    const auto seen = scan_of(e, "c");
    REQUIRE(keys_in(seen) == Names{"a", "c"});
    CHECK(seen[0].value == "1");
    CHECK_FALSE(seen[0].expires);
    CHECK(seen[1].expires == Approx(k_t0 + 50));
    set(e, "empty", "k", "v");
    e.erase("empty", {"k"}, Access::raw);
    CHECK(e.count("empty", Access::raw).value == 0);
    CHECK(scan_of(e, "empty").empty());
}

ENGINE_TEST("engine: a scan hands over values of every size whole, among many entries", "") {
    TestType t;
    engine::Engine& e = t.store;
    // Sizes around what engines may keep in a row or read apart: small, 64 KiB and past it,
    // 1 MiB and past it; more entries than one batch of a cursor.
    const std::vector<std::size_t> sizes{3, 64 * 1024, 64 * 1024 + 1, 1024 * 1024, 1024 * 1024 + 1};
    std::vector<engine::Write> writes;
    for (std::size_t i = 0; i < 300; ++i) {
        const std::size_t size = i < 2 * sizes.size() ? sizes[i % sizes.size()] : 3;
        std::string key = "k";
        key += std::to_string(1000 + i); // (appended: g++ 12 warns of "k" + string falsely)
        writes.push_back(put(key, std::string(size, static_cast<char>('a' + i % 26))));
    }
    apply(e, "c", writes);
    const auto seen = scan_of(e, "c");
    REQUIRE(seen.size() == writes.size());
    for (std::size_t i = 0; i < seen.size(); ++i) {
        CHECK(seen[i].key == writes[i].key);
        CHECK(seen[i].value == *writes[i].value);
    }
}

ENGINE_TEST("engine: a large value overwritten in the same batch leaves no content behind", "") {
    TestType t;
    engine::Engine& e = t.store;
    set(e, "c", "other", "v"); // the cache exists, and refers to no content yet
    apply(e, "c", {put("k", std::string(2 * 1024 * 1024 + 1, 'x')), put("k", "small")});
    CHECK(e.get("c", "k", Access::raw).value->value == "small");
    CHECK(summary_of(e, "c")->bytes == 6);
    CHECK(e.check().problems.empty());
    e.collect_garbage(std::nullopt);
    CHECK(e.check().problems.empty());
}

ENGINE_TEST("engine: a scan reads one snapshot", "") {
    TestType t;
    engine::Engine& e = t.store;
    auto other = t.another();
    if (!other) {
        SUCCEED("this store cannot be shared: nobody else can write during a scan");
        return;
    }
    for (const char* key : {"a", "b", "c"}) {
        set(e, "c", key, "old");
    }
    Names seen;
    REQUIRE(e.scan("c", Access::raw, [&](const engine::EntryView& entry) {
        if (seen.empty()) {
            // Another writer commits while the scan is under way.
            apply(*other, "c", {removal("c"), put("b", "new"), put("bb", "new")});
        }
        seen.push_back(std::string(entry.key) + "=" + std::string(entry.value));
    }) == Status::ok);
    CHECK(seen == Names{"a=old", "b=old", "c=old"});
    CHECK(keys_of(e, "c") == Names{"a", "b", "bb"}); // the next call sees the commit
}

// --- expiry --------------------------------------------------------------------------------------

ENGINE_TEST("engine: expired entries are invisible at once", "[ttl]") {
    TestType t;
    engine::Engine& e = t.store;
    set(e, "c", "short", "v", seconds(10));
    set(e, "c", "long", "vv", seconds(100));
    set(e, "c", "forever", "v");
    CHECK(entry_of(e, "c", "long")->expires == Approx(k_t0 + 100));
    CHECK_FALSE(entry_of(e, "c", "forever")->expires);
    t.clock.advance(9.5);
    CHECK(value_of(e, "c", "short") == "v");
    t.clock.advance(0.5);
    CHECK_FALSE(value_of(e, "c", "short"));
    CHECK(keys_of(e, "c") == Names{"forever", "long"});
    CHECK(e.count("c", Access::raw).value == 2);
    CHECK(keys_in(scan_of(e, "c")) == Names{"forever", "long"});
    CHECK(summary_of(e, "c")->entries == 2);
    CHECK(summary_of(e, "c")->bytes == 3);

    set(e, "c", "other", "v"); // a later write; the expired entry stays gone
    CHECK(keys_of(e, "c") == Names{"forever", "long", "other"});
    CHECK(entry_of(e, "c", "long")->expires == Approx(k_t0 + 100));
    t.clock.advance(90);
    CHECK(keys_of(e, "c") == Names{"forever", "other"});

    // An explicit expiry wins over a ttl; one in the past is invisible at once.
    apply(e, "c", {{"at", "v", t.clock.now() + 7, seconds(1000), {}, {}}});
    CHECK(entry_of(e, "c", "at")->expires == Approx(t.clock.now() + 7));
    apply(e, "c", {{"past", "v", t.clock.now() - 1, std::nullopt, {}, {}}});
    CHECK_FALSE(value_of(e, "c", "past"));

    // Overwriting without a ttl makes an entry permanent again.
    set(e, "c", "k", "v", seconds(1));
    set(e, "c", "k", "v2");
    t.clock.advance(5);
    CHECK(value_of(e, "c", "k") == "v2");
    CHECK_FALSE(entry_of(e, "c", "k")->expires);
}

ENGINE_TEST("engine: a cache's default ttl applies to writes without their own", "[ttl]") {
    TestType t;
    engine::Engine& e = t.store;
    e.configure("c", [](engine::CacheSettings& s) { s.default_ttl = seconds(30); });
    REQUIRE(e.settings("c")->default_ttl == Duration(seconds(30)));
    set(e, "c", "default", "v");
    set(e, "c", "own", "v", seconds(5));
    apply(e, "c", {{"at", "v", k_t0 + 100, std::nullopt, {}, {}}});
    set(e, "plain", "k", "v");
    CHECK(entry_of(e, "c", "default")->expires == Approx(k_t0 + 30));
    CHECK(entry_of(e, "c", "own")->expires == Approx(k_t0 + 5));
    CHECK(entry_of(e, "c", "at")->expires == Approx(k_t0 + 100));
    t.clock.advance(30);
    CHECK(keys_of(e, "c") == Names{"at"});
    CHECK(value_of(e, "plain", "k") == "v");

    // Without the default, new writes keep forever; existing entries keep their expiry.
    set(e, "c", "before", "v");
    e.configure("c", [](engine::CacheSettings& s) { s.default_ttl.reset(); });
    set(e, "c", "after", "v");
    t.clock.advance(1000);
    CHECK(keys_of(e, "c") == Names{"after"});
}

// --- the graph -----------------------------------------------------------------------------------

ENGINE_TEST("engine: invalidate clears the cache and every dependent in one go", "[cascade]") {
    TestType t;
    engine::Engine& e = t.store;
    // A diamond below root: root -> a -> c, root -> b -> c; up is above, unrelated beside.
    e.depend("root", "a");
    e.depend("root", "b");
    e.depend("a", "c");
    e.depend("b", "c");
    e.depend("up", "root");
    for (const char* cache : {"root", "a", "b", "c", "up", "unrelated"}) {
        apply(e, cache, {put("k1", "v"), put("k2", "v")});
    }
    const Names cascade{"root", "a", "b", "c"}; // c once, after both its parents

    const auto dry = e.invalidate("root", std::nullopt, true, "invalidate");
    REQUIRE(dry.ok());
    CHECK(dry.value == cascade);
    for (const char* cache : {"root", "a", "b", "c"}) {
        CHECK(keys_of(e, cache).size() == 2); // the dry run changed nothing
        CHECK_FALSE(summary_of(e, cache)->invalidated);
    }
    CHECK(e.log(std::nullopt, 10).empty());

    t.clock.advance(3);
    CHECK(e.invalidate("root", std::string("k1"), false, "invalidate").value == cascade);
    CHECK(keys_of(e, "root") == Names{"k2"}); // only the key, in the root
    CHECK(keys_of(e, "a").empty());           // everything in the dependents
    CHECK(keys_of(e, "b").empty());
    CHECK(keys_of(e, "c").empty());
    CHECK(keys_of(e, "up").size() == 2);
    CHECK(keys_of(e, "unrelated").size() == 2);
    CHECK(summary_of(e, "root")->invalidated == Approx(k_t0 + 3));
    CHECK(summary_of(e, "c")->invalidated == Approx(k_t0 + 3));
    CHECK_FALSE(summary_of(e, "up")->invalidated);

    CHECK(e.invalidate("root", std::nullopt, false, "invalidate").value == cascade);
    CHECK(keys_of(e, "root").empty());
    CHECK(keys_of(e, "up").size() == 2);

    CHECK(e.invalidate("c", std::nullopt, false, "invalidate").value == Names{"c"});
    CHECK(e.invalidate("nope", std::nullopt, false, "invalidate").status == Status::no_cache);
    CHECK(e.invalidate("nope", std::nullopt, true, "invalidate").status == Status::no_cache);
    CHECK(e.invalidate("nope", std::string("k"), false, "invalidate").status == Status::no_cache);
    CHECK_FALSE(e.settings("nope")); // nothing created
}

ENGINE_TEST("engine: depend refuses cycles and names the path; undepend says if it removed",
            "[graph]") {
    TestType t;
    engine::Engine& e = t.store;
    e.depend("a", "b");
    e.depend("a", "b"); // no-op
    e.depend("b", "c");
    CHECK(cache_names(e) == Names{"a", "b", "c"}); // depend creates missing caches
    CHECK(fields(*e.settings("c")) == k_default_settings);
    CHECK(e.edges().size() == 2);
    CHECK(e.dependencies("a", false).value.children == Names{"b"});
    CHECK(e.dependencies("a", false).value.parents.empty());
    CHECK(e.dependencies("c", true).value.parents == Names{"a", "b"});
    CHECK(e.dependencies("a", true).value.children == Names{"b", "c"});
    CHECK(e.dependencies("nope", false).status == Status::no_cache);

    CHECK_THROWS_AS(e.depend("c", "a"), UsageError);
    CHECK_THROWS_WITH(e.depend("c", "a"), Catch::Contains("c -> a -> b -> c"));
    CHECK_THROWS_WITH(e.depend("a", "a"), Catch::Contains("a -> a"));
    CHECK_THROWS_WITH(e.depend("x", "x"), Catch::Contains("x -> x"));
    CHECK(cache_names(e) == Names{"a", "b", "c"}); // a refused edge creates nothing
    CHECK(e.edges().size() == 2);

    CHECK(e.undepend("a", "b"));
    CHECK_FALSE(e.undepend("a", "b"));
    CHECK_FALSE(e.undepend("never", "there"));
    CHECK(e.dependencies("b", false).value.parents.empty());
    e.depend("c", "a"); // no cycle any more
    CHECK(e.dependencies("a", false).value.parents == Names{"c"});
}

ENGINE_TEST("engine: edges and dependencies of a diamond", "[graph]") {
    TestType t;
    engine::Engine& e = t.store;
    e.depend("root", "b");
    e.depend("root", "a");
    e.depend("b", "c");
    e.depend("a", "c");
    e.depend("up", "root");
    const auto edges = e.edges();
    Names pairs;
    for (const auto& edge : edges) {
        pairs.push_back(edge.parent + ">" + edge.child);
    }
    CHECK(pairs == Names{"a>c", "b>c", "root>a", "root>b", "up>root"});
    CHECK(e.dependencies("c", false).value.parents == Names{"a", "b"});
    CHECK(e.dependencies("c", true).value.parents == Names{"a", "b", "root", "up"});
    CHECK(e.dependencies("up", true).value.children == Names{"root", "a", "b", "c"});
}

ENGINE_TEST("engine: drop clears dependents and removes the cache with its edges", "") {
    TestType t;
    engine::Engine& e = t.store;
    e.depend("up", "mid");
    e.depend("mid", "down");
    e.configure("mid", [](engine::CacheSettings& s) { s.loader = "cat loaded"; });
    for (const char* cache : {"up", "mid", "down"}) {
        set(e, cache, "k", "v");
    }
    const auto dropped = e.drop("mid");
    REQUIRE(dropped.ok());
    CHECK(dropped.value == Names{"down"});
    CHECK(cache_names(e) == Names{"down", "up"});
    CHECK(e.get("mid", "k", Access::raw).status == Status::no_cache);
    CHECK_FALSE(e.settings("mid"));
    CHECK(keys_of(e, "down").empty());
    CHECK(keys_of(e, "up") == Names{"k"});
    CHECK(e.dependencies("up", false).value.children.empty());
    CHECK(e.dependencies("down", false).value.parents.empty());
    CHECK(e.edges().empty());
    CHECK(e.drop("mid").status == Status::no_cache);

    // A new cache of the same name starts afresh.
    set(e, "mid", "new", "v");
    CHECK(keys_of(e, "mid") == Names{"new"});
    CHECK(fields(*e.settings("mid")) == k_default_settings);
    CHECK(e.dependencies("mid", false).value.children.empty());
    CHECK(e.check().healthy());
}

// --- the catalog ---------------------------------------------------------------------------------

ENGINE_TEST("engine: list reports live entries, bytes and direct edges, by name", "") {
    TestType t;
    engine::Engine& e = t.store;
    CHECK(e.list().empty());
    set(e, "b", "k", "12345");
    set(e, "b", "gone", "xx", seconds(1));
    set(e, "b", "empty", "");
    e.depend("a", "b");
    e.depend("b", "c");
    const bool has_volatile = make_volatile<TestType>(e, "v");
    if (has_volatile) {
        set(e, "v", "k", "123");
    }
    t.clock.advance(2);
    const auto caches = e.list();
    REQUIRE(caches.size() == (has_volatile ? 4 : 3));
    CHECK(caches[0].name == "a");
    CHECK(caches[0].children == Names{"b"});
    CHECK(caches[0].parents.empty());
    CHECK(caches[0].entries == 0);
    CHECK(caches[1].name == "b");
    CHECK(caches[1].entries == 2);
    CHECK(caches[1].bytes == 5);
    CHECK(caches[1].parents == Names{"a"});
    CHECK(caches[1].children == Names{"c"});
    CHECK_FALSE(caches[1].is_volatile);
    CHECK_FALSE(caches[1].invalidated);
    CHECK(caches[1].hits == 0);
    CHECK(caches[1].misses == 0);
    CHECK(caches[2].name == "c");
    if (has_volatile) {
        CHECK(caches[3].name == "v");
        CHECK(caches[3].is_volatile);
        CHECK(caches[3].entries == 1);
        CHECK(caches[3].bytes == 3);
    }
}

ENGINE_TEST("engine: settings and configure", "[settings]") {
    TestType t;
    engine::Engine& e = t.store;
    CHECK_FALSE(e.settings("c"));
    e.configure("c", [](engine::CacheSettings&) {}); // creates the cache
    REQUIRE(e.settings("c"));
    CHECK(fields(*e.settings("c")) == k_default_settings);
    CHECK(cache_names(e) == Names{"c"});

    engine::CacheSettings wanted;
    wanted.builder = "printf '%s\\n' \"$CACHEMAN_CACHE\"";
    wanted.loader = "cat 'a file'";
    wanted.saver = "cat > out";
    wanted.validator = "true";
    wanted.deleter = "rm -f out";
    wanted.pre_processor = "sort";
    wanted.post_processor = "tr a b";
    wanted.default_ttl = Duration(1500);
    wanted.autosync = false;
    wanted.autosync_checks = parse_time_checks("60:1,300:5");
    e.configure("c", [&](engine::CacheSettings& s) {
        CHECK(fields(s) == k_default_settings); // the edit starts from the stored settings
        s = wanted;
    });
    CHECK(fields(*e.settings("c")) == fields(wanted));

    e.configure("c", [](engine::CacheSettings& s) {
        s.loader.reset();
        s.autosync.reset();
    });
    wanted.loader.reset();
    wanted.autosync.reset();
    CHECK(fields(*e.settings("c")) == fields(wanted));
    CHECK(e.settings("c")->autosync_on()); // a saver, and auto-sync not turned off
}

ENGINE_TEST("engine: switching volatility keeps the contents", "[settings][volatile]") {
    TestType t;
    engine::Engine& e = t.store;
    set(e, "c", "k", "v");
    set(e, "c", "t", std::string("\0\xFF", 2), seconds(100));
    e.depend("p", "c");
    if (!make_volatile<TestType>(e, "c")) {
        CHECK(keys_of(e, "c") == Names{"k", "t"}); // refused: the contents stay as they were
        return;
    }
    CHECK(e.settings("c")->is_volatile);
    CHECK(summary_of(e, "c")->is_volatile);
    CHECK(keys_of(e, "c") == Names{"k", "t"});
    CHECK(value_of(e, "c", "t") == std::string("\0\xFF", 2));
    CHECK(entry_of(e, "c", "t")->expires == Approx(k_t0 + 100));
    set(e, "c", "while volatile", "v");

    e.configure("c", [](engine::CacheSettings& s) { s.is_volatile = false; });
    CHECK_FALSE(e.settings("c")->is_volatile);
    CHECK_FALSE(summary_of(e, "c")->is_volatile);
    CHECK(keys_of(e, "c") == Names{"k", "t", "while volatile"});
    CHECK(entry_of(e, "c", "t")->expires == Approx(k_t0 + 100));

    // A cascade reaches a volatile dependent.
    e.configure("c", [](engine::CacheSettings& s) { s.is_volatile = true; });
    set(e, "p", "k", "v");
    CHECK(e.invalidate("p", std::nullopt, false, "invalidate").value == Names{"p", "c"});
    CHECK(keys_of(e, "c").empty());
    CHECK(e.check().healthy());
}

// --- building ------------------------------------------------------------------------------------

ENGINE_TEST("engine: a cache with a builder is unbuilt until filled as built", "[build]") {
    TestType t;
    engine::Engine& e = t.store;
    e.configure("b", [](engine::CacheSettings& s) { s.builder = "printf ''"; });
    const auto nothing = [](const engine::EntryView&) { FAIL("nothing to visit"); };

    // Access::built reports it and touches nothing; Access::raw acts on it as it is.
    CHECK(e.get("b", "k", Access::built).status == Status::unbuilt);
    CHECK(e.keys("b", Access::built).status == Status::unbuilt);
    CHECK(e.count("b", Access::built).status == Status::unbuilt);
    CHECK(e.scan("b", Access::built, nothing) == Status::unbuilt);
    CHECK(e.apply("b", source_of({put("k", "v")}), Access::built, std::nullopt).status ==
          Status::unbuilt);
    CHECK(e.erase("b", {"k"}, Access::built).status == Status::unbuilt);
    CHECK(keys_of(e, "b").empty()); // the refused apply wrote nothing
    set(e, "b", "raw", "v");        // raw edits do not build it either
    CHECK(e.get("b", "raw", Access::built).status == Status::unbuilt);
    CHECK(value_of(e, "b", "raw") == "v");

    // Filled as built: it is built; its old contents are gone.
    e.replace_contents("b", source_of({put("k", "built")}), true);
    const auto got = e.get("b", "k", Access::built);
    REQUIRE(got.ok());
    CHECK(got.value->value == "built");
    CHECK(e.keys("b", Access::built).value == Names{"k"});
    CHECK(e.apply("b", source_of({put("k2", "v")}), Access::built, std::nullopt).ok());

    // Cleared by an invalidation: unbuilt again, and filling it as not built leaves it so.
    e.invalidate("b", std::nullopt, false, "invalidate");
    CHECK(e.get("b", "k", Access::built).status == Status::unbuilt);
    e.replace_contents("b", source_of({put("loaded", "v")}), false);
    CHECK(e.get("b", "loaded", Access::built).status == Status::unbuilt);
    CHECK(value_of(e, "b", "loaded") == "v");

    // A cache without a builder is never unbuilt.
    set(e, "plain", "k", "v");
    e.invalidate("plain", std::nullopt, false, "invalidate");
    CHECK(e.get("plain", "k", Access::built).ok());
    // Nor is one whose builder was removed.
    e.configure("b", [](engine::CacheSettings& s) { s.builder.reset(); });
    CHECK(e.get("b", "loaded", Access::built).ok());
}

ENGINE_TEST("engine: a builder attached to a cache that holds entries leaves it built", "[build]") {
    TestType t;
    engine::Engine& e = t.store;
    set(e, "c", "k", "v");
    e.configure("c", [](engine::CacheSettings& s) { s.builder = "printf ''"; });
    const auto got = e.get("c", "k", Access::built);
    REQUIRE(got.ok());
    CHECK(got.value->value == "v");
    // The builder applies from the next clear on.
    e.invalidate("c", std::nullopt, false, "invalidate");
    CHECK(e.get("c", "k", Access::built).status == Status::unbuilt);

    // An empty cache given a builder is unbuilt.
    set(e, "emptied", "k", "v");
    e.erase("emptied", {"k"}, Access::raw);
    e.configure("emptied", [](engine::CacheSettings& s) { s.builder = "printf ''"; });
    CHECK(e.get("emptied", "k", Access::built).status == Status::unbuilt);
}

ENGINE_TEST("engine: replace_contents replaces in one transaction", "[build]") {
    TestType t;
    engine::Engine& e = t.store;
    apply(e, "c", {put("a", "1"), put("b", "1")});
    e.replace_contents("c", source_of({put("b", "2"), put("d", "4", seconds(10))}), false);
    CHECK(keys_of(e, "c") == Names{"b", "d"});
    CHECK(value_of(e, "c", "b") == "2");
    CHECK(entry_of(e, "c", "d")->expires == Approx(k_t0 + 10));

    e.replace_contents("new", source_of({}), false); // creates the cache
    CHECK(e.count("new", Access::raw).value == 0);
    CHECK(fields(*e.settings("new")) == k_default_settings);

    // A batch that fails leaves the contents as they were.
    CHECK_THROWS_AS(
        e.replace_contents("c", source_of({put("x", "1"), put(std::string("\0", 1), "2")}), true),
        UsageError);
    CHECK(keys_of(e, "c") == Names{"b", "d"});
    CHECK_THROWS_AS(e.replace_contents("absent", source_of({put("\xFF", "2")}), true), UsageError);
    CHECK_FALSE(e.settings("absent"));
}

// --- auto-sync bookkeeping -----------------------------------------------------------------------

ENGINE_TEST("engine: edits are counted per second while auto-sync is on", "[autosync]") {
    TestType t;
    engine::Engine& e = t.store;
    // No saver: nothing counted.
    CHECK_FALSE(apply(e, "plain", {put("k", "v")}).counted);
    CHECK(e.edit_counts("plain").empty());
    CHECK(e.edit_counts("missing").empty());
    e.saved("missing"); // not an error

    e.configure("c", [](engine::CacheSettings& s) { s.saver = "cat > /dev/null"; });
    const auto edited = apply(e, "c", {put("a", "1"), put("b", "2"), put("c", "3")});
    CHECK(edited.changed == 3);
    CHECK(edited.counted);
    CHECK(e.edit_counts("c") == engine::EditBuckets{{k_bucket0, 3}});
    t.clock.advance(1.5);
    CHECK(apply(e, "c", {removal("a")}).counted); // a removal is an edit too
    CHECK(e.edit_counts("c") == engine::EditBuckets{{k_bucket0, 3}, {k_bucket0 + 1, 1}});

    // erase counts what it removed, and nothing when it removed nothing.
    const auto nothing = e.erase("c", {"a", "missing"}, Access::raw);
    CHECK(nothing.value.changed == 0);
    CHECK_FALSE(nothing.value.counted);
    const auto removed = e.erase("c", {"b", "c"}, Access::raw);
    CHECK(removed.value.changed == 2);
    CHECK(removed.value.counted);
    CHECK(e.edit_counts("c") == engine::EditBuckets{{k_bucket0, 3}, {k_bucket0 + 1, 3}});

    e.forget_edit_counts("c", k_bucket0 + 1); // the counts older than that bucket
    CHECK(e.edit_counts("c") == engine::EditBuckets{{k_bucket0 + 1, 3}});
    e.saved("c");
    CHECK(e.edit_counts("c").empty());

    // replace_contents forgets them.
    set(e, "c", "k", "v");
    REQUIRE_FALSE(e.edit_counts("c").empty());
    e.replace_contents("c", source_of({put("k", "v")}), false);
    CHECK(e.edit_counts("c").empty());

    // Auto-sync turned off: a saver alone does not count.
    e.configure("c", [](engine::CacheSettings& s) { s.autosync = false; });
    CHECK_FALSE(apply(e, "c", {put("k", "v")}).counted);
    CHECK_FALSE(e.erase("c", {"k"}, Access::raw).value.counted);
    CHECK(e.edit_counts("c").empty());
}

// --- history -------------------------------------------------------------------------------------

ENGINE_TEST("engine: the log records invalidations newest first", "[log]") {
    TestType t;
    engine::Engine& e = t.store;
    e.depend("a", "b");
    e.depend("x", "y");
    set(e, "a", "k", "v");
    t.clock.advance(5);
    e.invalidate("a", std::nullopt, false, "invalidate");
    t.clock.advance(5);
    e.invalidate("b", std::string("k"), false, "rebuild");
    e.invalidate("a", std::nullopt, true, "invalidate"); // a dry run is not logged
    t.clock.advance(5);
    e.drop("x");

    const auto all = e.log(std::nullopt, 10);
    REQUIRE(all.size() == 3);
    CHECK(all[0].command == "drop");
    CHECK(all[0].cache == "x");
    CHECK(all[0].at == Approx(k_t0 + 15));
    CHECK(all[1].command == "rebuild");
    CHECK(all[1].cache == "b");
    CHECK(all[1].cleared == Names{"b"});
    CHECK(all[1].at == Approx(k_t0 + 10));
    CHECK(all[2].command == "invalidate");
    CHECK(all[2].cache == "a");
    CHECK(all[2].cleared == Names{"a", "b"});
    CHECK(all[2].at == Approx(k_t0 + 5));

    CHECK(e.log(std::nullopt, 1).size() == 1);
    CHECK(e.log(std::nullopt, 1)[0].command == "drop");
    CHECK(e.log(std::string("a"), 10).size() == 1); // named it
    CHECK(e.log(std::string("b"), 10).size() == 2); // named it, or cleared it
    CHECK(e.log(std::string("y"), 10).size() == 1); // cleared by the drop of x
    CHECK(e.log(std::string("zzz"), 10).empty());
}

ENGINE_TEST("engine: lookup counts are folded into list's statistics", "[stats]") {
    TestType t;
    engine::Engine& e = t.store;
    set(e, "c", "k", "v");
    set(e, "d", "k", "v");
    e.count_lookup("c", std::nullopt, true);
    e.count_lookup("c", std::nullopt, true);
    e.count_lookup("c", std::nullopt, false);
    e.count_lookup("d", std::nullopt, false);
    e.fold_lookup_counts();
    CHECK(summary_of(e, "c")->hits == 2);
    CHECK(summary_of(e, "c")->misses == 1);
    CHECK(summary_of(e, "d")->hits == 0);
    CHECK(summary_of(e, "d")->misses == 1);
    e.fold_lookup_counts(); // nothing new: nothing added twice
    CHECK(summary_of(e, "c")->hits == 2);
    e.count_lookup("c", std::nullopt, true);
    e.fold_lookup_counts();
    CHECK(summary_of(e, "c")->hits == 3);
    CHECK(summary_of(e, "c")->misses == 1);

    // A dropped cache takes its statistics with it.
    e.drop("c");
    set(e, "c", "k", "v");
    CHECK(summary_of(e, "c")->hits == 0);
    CHECK(summary_of(e, "c")->misses == 0);
    CHECK(summary_of(e, "d")->misses == 1);
}

ENGINE_TEST("engine: counted lookups count each lookup once, hit or miss", "[stats]") {
    TestType t;
    engine::Engine& e = t.store;
    set(e, "c", "k", "value");
    set(e, "c", "short", "v", seconds(5));
    t.clock.advance(5); // expired: a miss
    std::string read;
    const engine::ChunkSink sink = [&read](std::string_view piece) { read += piece; };
    CHECK(e.get_counted("c", "k", Access::built).value->value == "value");
    REQUIRE(e.read_value_counted("c", "k", Access::built, sink).value);
    CHECK(read == "value");
    CHECK_FALSE(e.get_counted("c", "missing", Access::built).value);
    CHECK_FALSE(e.read_value_counted("c", "short", Access::built, sink).value);
    // Not lookups of a cache: a missing one, an unbuilt one read for built contents.
    CHECK(e.get_counted("nosuch", "k", Access::built).status == Status::no_cache);
    e.configure("b", [](engine::CacheSettings& s) { s.builder = "printf ''"; });
    CHECK(e.get_counted("b", "k", Access::built).status == Status::unbuilt);
    CHECK(e.read_value_counted("b", "k", Access::built, sink).status == Status::unbuilt);
    CHECK_FALSE(e.get_counted("b", "k", Access::raw).value); // raw: a miss of b
    e.fold_lookup_counts();
    CHECK(summary_of(e, "c")->hits == 2);
    CHECK(summary_of(e, "c")->misses == 2);
    CHECK(summary_of(e, "b")->hits == 0);
    CHECK(summary_of(e, "b")->misses == 1);
    CHECK_FALSE(summary_of(e, "nosuch"));
    // Plain lookups count nothing.
    CHECK(e.get("c", "k", Access::built).value);
    CHECK(e.read_value("c", "k", Access::built, sink).value);
    e.fold_lookup_counts();
    CHECK(summary_of(e, "c")->hits == 2);
}

// --- the store -----------------------------------------------------------------------------------

ENGINE_TEST("engine: namespaces lists this one once it is written, once", "[namespaces]") {
    TestType t;
    engine::Engine& e = t.store;
    set(e, "c", "k", "v");
    const Names names = e.namespaces();
    CHECK(std::is_sorted(names.begin(), names.end()));
    CHECK(std::adjacent_find(names.begin(), names.end()) == names.end());
    if (auto other = t.another()) {
        // A store another process can reach: it lists this namespace.
        const Names seen = other->namespaces();
        CHECK(seen == names);
        CHECK(std::count(names.begin(), names.end(), t.namespace_name()) == 1);
    }
}

ENGINE_TEST("engine: a healthy store checks healthy", "[check]") {
    TestType t;
    engine::Engine& e = t.store;
    CHECK(e.check().healthy());
    e.depend("a", "b");
    set(e, "a", "k", "v", seconds(1));
    if (make_volatile<TestType>(e, "v")) {
        set(e, "v", "k", "v");
    }
    e.drop("b");
    t.clock.advance(2);
    const auto report = e.check();
    CHECK(report.healthy());
    CHECK(report.integrity == Names{"ok"});
    CHECK(report.problems.empty());
    CHECK(report.schema_version > 0);
}

ENGINE_TEST("engine: single flight: a caller leads when nobody else does", "[flight]") {
    TestType t;
    engine::Engine& e = t.store;
    auto leader = e.flights().join("key");
    REQUIRE(leader);
    CHECK(leader->role() == engine::Flight::Role::leader);
    leader->publish("result");
    leader.reset();
    auto next = e.flights().try_lead("key"); // the flight ended with the publish
    REQUIRE(next);
    CHECK(next->role() == engine::Flight::Role::leader);

    // Another client of the store that joins while this one leads does not lead too.
    auto other = t.another();
    if (other) {
        CHECK_FALSE(other->flights().try_lead("key"));
        CHECK(other->flights().try_lead("other key"));
        next.reset(); // left without a result: the lead is free again
        CHECK(other->flights().try_lead("key"));
    }
}

ENGINE_TEST("engine: the store's clock, name and trust", "") {
    TestType t;
    engine::Engine& e = t.store;
    CHECK(e.now() == k_t0);
    t.clock.advance(42.5);
    CHECK(e.now() == k_t0 + 42.5);
    CHECK_FALSE(e.name().empty());
    CHECK(e.settings_trusted()); // written by the user running the test
}

ENGINE_TEST("engine: a bad cache name or key is refused before anything is touched", "[names]") {
    TestType t;
    engine::Engine& e = t.store;
    const auto no_edit = [](engine::CacheSettings&) {};
    const auto no_visit = [](const engine::EntryView&) {};
    const Names bad_names{"", "a\nb", "tab\there", "del\x7F", "\xFF", std::string(256, 'x')};
    for (const auto& bad : bad_names) {
        INFO("cache name: " << bad);
        CHECK_THROWS_AS(e.get(bad, "k", Access::raw), UsageError);
        CHECK_THROWS_AS(e.keys(bad, Access::raw), UsageError);
        CHECK_THROWS_AS(e.count(bad, Access::raw), UsageError);
        CHECK_THROWS_AS(e.scan(bad, Access::raw, no_visit), UsageError);
        CHECK_THROWS_AS(e.apply(bad, source_of({put("k", "v")}), Access::raw, std::nullopt),
                        UsageError);
        CHECK_THROWS_AS(e.erase(bad, {"k"}, Access::raw), UsageError);
        CHECK_THROWS_AS(e.replace_contents(bad, source_of({put("k", "v")}), true), UsageError);
        CHECK_THROWS_AS(e.depend(bad, "ok"), UsageError);
        CHECK_THROWS_AS(e.depend("ok", bad), UsageError);
        CHECK_THROWS_AS(e.undepend(bad, "ok"), UsageError);
        CHECK_THROWS_AS(e.invalidate(bad, std::nullopt, false, "invalidate"), UsageError);
        CHECK_THROWS_AS(e.drop(bad), UsageError);
        CHECK_THROWS_AS(e.dependencies(bad, true), UsageError);
        CHECK_THROWS_AS(e.settings(bad), UsageError);
        CHECK_THROWS_AS(e.configure(bad, no_edit), UsageError);
        CHECK_THROWS_AS(e.edit_counts(bad), UsageError);
        CHECK_THROWS_AS(e.saved(bad), UsageError);
    }
    CHECK(e.list().empty());
    CHECK(e.edges().empty());

    set(e, "c", "k", "v");
    for (const auto& bad : Names{std::string("a\0b", 3), "\xC3", "\xED\xA0\x80"}) {
        INFO("key of " << bad.size() << " bytes");
        CHECK_THROWS_AS(e.get("c", bad, Access::raw), UsageError);
        CHECK_THROWS_AS(e.erase("c", {"k", bad}, Access::raw), UsageError);
        CHECK_THROWS_AS(
            e.apply("c", source_of({removal("k"), put(bad, "v")}), Access::raw, std::nullopt),
            UsageError);
        CHECK_THROWS_AS(e.replace_contents("c", source_of({put(bad, "v")}), true), UsageError);
        CHECK_THROWS_AS(e.invalidate("c", bad, false, "invalidate"), UsageError);
        CHECK_THROWS_AS(e.get("new", bad, Access::raw), UsageError);
        CHECK_THROWS_AS(e.apply("new", source_of({put(bad, "v")}), Access::raw, std::nullopt),
                        UsageError);
    }
    CHECK(keys_of(e, "c") == Names{"k"});
    CHECK(cache_names(e) == Names{"c"});
    CHECK(e.log(std::nullopt, 10).empty());
}

ENGINE_TEST("engine: a write only_if a generation is refused after any clear of the cache",
            "[generation]") {
    TestType t;
    engine::Engine& e = t.store;
    const auto write_if = [&](const engine::Generation& seen) {
        return e.apply("run", source_of({put("k", "v")}), Access::raw, seen).status;
    };
    const auto before_it_existed = e.generation("run");
    set(e, "run", "created", "by another writer meanwhile");
    CHECK(write_if(before_it_existed) == Status::ok); // nothing cleared what did not exist
    CHECK(value_of(e, "run", "created"));
    const auto clears = std::vector<std::function<void()>>{
        [&] { e.invalidate("run", std::nullopt, false, "invalidate"); },
        [&] { e.invalidate("run", std::string("k"), false, "invalidate"); },
        [&] { e.invalidate("parent", std::nullopt, false, "invalidate"); },
        [&] { e.drop("run"); },
        // Dropped and created again (SQLite may give it the same id): a new cache all the same.
        [&] {
            e.drop("run");
            set(e, "run", "other", "v");
        },
    };
    e.depend("parent", "run");
    for (std::size_t i = 0; i < clears.size(); ++i) {
        INFO("clear " << i);
        set(e, "run", "other", "v");
        const auto seen = e.generation("run");
        clears[i]();
        CHECK(write_if(seen) == Status::changed);
        CHECK_FALSE(e.get("run", "k", Access::raw).value); // nothing written (or no cache)
        CHECK(write_if(e.generation("run")) == Status::ok);
        CHECK(value_of(e, "run", "k") == "v");
    }
}

// --- size limits, eviction and garbage collection ---------------------------------------------

namespace {

void limit(engine::Engine& e, std::string_view cache, std::optional<std::int64_t> entries,
           std::optional<std::int64_t> bytes) {
    e.configure(cache, [&](engine::CacheSettings& s) {
        s.max_entries = entries;
        s.max_bytes = bytes;
    });
}

} // namespace

ENGINE_TEST("engine: limits are settings, kept until removed", "[settings][size]") {
    TestType t;
    engine::Engine& e = t.store;
    limit(e, "c", 10, 1024);
    CHECK(e.settings("c")->max_entries == 10);
    CHECK(e.settings("c")->max_bytes == 1024);
    e.configure("c", [](engine::CacheSettings& s) { s.builder = "true"; });
    CHECK(e.settings("c")->max_entries == 10);
    limit(e, "c", std::nullopt, std::nullopt);
    CHECK_FALSE(e.settings("c")->max_entries);
    CHECK_FALSE(e.settings("c")->max_bytes);
}

ENGINE_TEST("engine: a write evicts the least recently stored entries beyond max_entries",
            "[size]") {
    TestType t;
    engine::Engine& e = t.store;
    limit(e, "c", 3, std::nullopt);
    for (const char* key : {"d", "c", "b", "a"}) { // stored in this order, not key order
        set(e, "c", key, "v");
    }
    CHECK(keys_of(e, "c") == Names{"a", "b", "c"});
    // A batch bigger than the limit keeps only what fits.
    apply(e, "c", {put("x", "1"), put("y", "2"), put("z", "3"), put("w", "4")});
    CHECK(e.count("c", Access::raw).value == 3);
    // Other caches are not touched.
    for (int i = 0; i < 5; ++i) {
        set(e, "other", std::to_string(i), "v");
    }
    CHECK(e.count("other", Access::raw).value == 5);
}

ENGINE_TEST("engine: a counted hit makes an entry recently used", "[size][stats]") {
    TestType t;
    engine::Engine& e = t.store;
    limit(e, "c", 3, std::nullopt);
    for (const char* key : {"a", "b", "c"}) {
        set(e, "c", key, "v");
    }
    e.count_lookup("c", std::string_view("a"), true);
    e.count_lookup("c", std::string_view("gone"), true); // no such entry: ignored
    e.count_lookup("c", std::nullopt, false);
    set(e, "c", "d", "v");
    CHECK(keys_of(e, "c") == Names{"a", "c", "d"}); // b was the least recently used
    // The lookups were counted too.
    CHECK(summary_of(e, "c")->hits == 2);
    CHECK(summary_of(e, "c")->misses == 1);

    // Any key, a newline, a tab or a backslash in it included.
    const std::string odd = "line\nnext\tcol\\n\\";
    set(e, "c", odd, "v");
    set(e, "c", "e", "v");
    set(e, "c", "f", "v");
    e.count_lookup("c", std::string_view(odd), true);
    set(e, "c", "g", "v");
    CHECK(keys_of(e, "c") == Names{"f", "g", odd});
}

ENGINE_TEST("engine: a counted get of a hit makes the entry recently used", "[size][stats]") {
    TestType t;
    engine::Engine& e = t.store;
    limit(e, "c", 3, std::nullopt);
    for (const char* key : {"a", "b", "c"}) {
        set(e, "c", key, "v");
    }
    CHECK(e.get_counted("c", "a", Access::built).value);
    set(e, "c", "d", "v");
    CHECK(keys_of(e, "c") == Names{"a", "c", "d"}); // b was the least recently used
}

ENGINE_TEST("engine: max_bytes counts the values; an entry too big on its own goes", "[size]") {
    TestType t;
    engine::Engine& e = t.store;
    limit(e, "c", std::nullopt, 10);
    set(e, "c", "a", "12345");
    set(e, "c", "b", "12345");
    CHECK(keys_of(e, "c") == Names{"a", "b"});
    set(e, "c", "c", "1");
    CHECK(keys_of(e, "c") == Names{"b", "c"});
    CHECK(summary_of(e, "c")->bytes == 6);
    set(e, "c", "huge", std::string(11, 'x'));
    CHECK(keys_of(e, "c") == Names{"b", "c"});
}

ENGINE_TEST("engine: setting a limit applies it at once; eviction clears no dependent", "[size]") {
    TestType t;
    engine::Engine& e = t.store;
    e.depend("c", "child");
    set(e, "child", "k", "derived");
    for (const char* key : {"a", "b", "c"}) {
        set(e, "c", key, "v");
    }
    const auto generation = e.generation("c");
    limit(e, "c", 1, std::nullopt);
    CHECK(keys_of(e, "c") == Names{"c"});
    CHECK(value_of(e, "child", "k") == "derived");
    CHECK(e.generation("c") == generation); // not an invalidation
    CHECK(e.log(std::nullopt, 10).empty());
}

ENGINE_TEST("engine: a builder's contents are held to the limits", "[size]") {
    TestType t;
    engine::Engine& e = t.store;
    limit(e, "c", 2, std::nullopt);
    e.replace_contents("c", source_of({put("a", "1"), put("b", "2"), put("c", "3")}), true);
    CHECK(e.count("c", Access::raw).value == 2);
}

ENGINE_TEST("engine: limits hold for volatile caches", "[size][volatile]") {
    TestType t;
    engine::Engine& e = t.store;
    if (!make_volatile<TestType>(e, "v", [](engine::CacheSettings& s) { s.max_entries = 2; })) {
        return;
    }
    for (const char* key : {"a", "b", "c"}) {
        set(e, "v", key, "v");
    }
    e.count_lookup("v", std::string_view("b"), true);
    set(e, "v", "d", "v");
    CHECK(keys_of(e, "v") == Names{"b", "d"});
}

ENGINE_TEST("engine: collect_garbage removes expired entries and applies the limits", "[gc]") {
    TestType t;
    engine::Engine& e = t.store;
    set(e, "c", "old", "12345", seconds(10));
    set(e, "c", "new", "123");
    set(e, "d", "old", "1", seconds(10));
    CHECK(e.collect_garbage(std::nullopt).entries == 0); // nothing expired yet
    t.clock.advance(11);
    const engine::Removed removed = e.collect_garbage(std::nullopt);
    CHECK(removed.entries == 2);
    CHECK(removed.bytes == 6);
    CHECK(keys_of(e, "c") == Names{"new"});
    e.compact();
    CHECK(value_of(e, "c", "new") == "123");
    CHECK(e.check().healthy());
}

ENGINE_TEST("engine: collect_garbage with max_bytes evicts across caches, oldest use first",
            "[gc]") {
    TestType t;
    engine::Engine& e = t.store;
    set(e, "a", "1", "xxxx");
    set(e, "b", "1", "xxxx");
    set(e, "a", "2", "xxxx");
    set(e, "b", "2", "xxxx");
    e.count_lookup("a", std::string_view("1"), true);
    const engine::Removed removed = e.collect_garbage(8);
    CHECK(removed.entries == 2);
    CHECK(removed.bytes == 8);
    CHECK(keys_of(e, "a") == Names{"1"});
    CHECK(keys_of(e, "b") == Names{"2"});
    e.compact();
    CHECK(e.check().healthy());
    CHECK(e.collect_garbage(8).entries == 0);
}

ENGINE_TEST("engine: read_value hands a value over in pieces of at most 1 MiB", "[read]") {
    TestType t;
    engine::Engine& e = t.store;
    std::string big(3 * (1 << 20) + 17, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) {
        big[i] = static_cast<char>(i * 7);
    }
    set(e, "c", "big", big);
    set(e, "c", "empty", "");
    std::vector<std::size_t> pieces;
    std::string read;
    const auto sink = [&](std::string_view bytes) {
        pieces.push_back(bytes.size());
        read.append(bytes);
    };
    const auto found = e.read_value("c", "big", Access::raw, sink);
    REQUIRE(found.ok());
    CHECK(found.value);
    CHECK(read == big);
    CHECK(pieces.size() == 4);
    CHECK(*std::max_element(pieces.begin(), pieces.end()) <= std::size_t{1} << 20);
    read.clear();
    CHECK(e.read_value("c", "empty", Access::raw, sink).value);
    CHECK(read.empty());
    CHECK_FALSE(e.read_value("c", "missing", Access::raw, sink).value);
    CHECK(e.read_value("nosuch", "k", Access::raw, sink).status == Status::no_cache);
    set(e, "c", "short", "v", seconds(10));
    t.clock.advance(10);
    CHECK_FALSE(e.read_value("c", "short", Access::raw, sink).value); // expired: a miss
    CHECK_THROWS_AS(e.read_value("c", std::string("a\0b", 3), Access::raw, sink), UsageError);
}

// --- contents (the files of `run --output`) ------------------------------------------------------

namespace {

// A private file holding `bytes`, for put_content.
struct ContentFile {
    std::FILE* file = std::tmpfile();
    int fd = ::fileno(file);
    explicit ContentFile(const std::string& bytes) { REQUIRE(write_all(fd, bytes) == 0); }
    ~ContentFile() { std::fclose(file); }
    ContentFile(const ContentFile&) = delete;
    ContentFile& operator=(const ContentFile&) = delete;
};

std::string digest_of_bytes(std::string_view bytes) {
    Hasher hasher;
    hasher.raw(bytes.data(), bytes.size());
    return hasher.hex();
}

// Puts `bytes` into the store's contents; returns their address.
std::string keep(engine::Engine& e, const std::string& bytes) {
    const ContentFile file(bytes);
    const std::string digest = digest_of_bytes(bytes);
    e.put_content(digest, file.fd, bytes.size());
    return digest;
}

std::optional<std::string> content_of(engine::Engine& e, const std::string& digest,
                                      std::size_t* largest_piece = nullptr) {
    std::string bytes;
    const bool found = e.read_content(digest, [&](std::string_view piece) {
        if (largest_piece != nullptr) {
            *largest_piece = std::max(*largest_piece, piece.size());
        }
        bytes += piece;
    });
    return found ? std::optional<std::string>(bytes) : std::nullopt;
}

engine::Write referring(std::string key, std::vector<std::string> digests) {
    return {std::move(key), std::string("record"), std::nullopt, std::nullopt, std::move(digests), {}};
}

std::int64_t bytes_of_cache(engine::Engine& e, const std::string& cache) {
    for (const auto& summary : e.list()) {
        if (summary.name == cache) {
            return summary.bytes;
        }
    }
    return -1;
}

} // namespace

ENGINE_TEST("engine: contents round-trip in pieces of at most 1 MiB", "[contents]") {
    TestType t;
    engine::Engine& e = t.store;
    std::string big(2 * (1 << 20) + 5, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) {
        big[i] = static_cast<char>(i * 13);
    }
    const std::string digest = keep(e, big);
    std::size_t largest = 0;
    CHECK(content_of(e, digest, &largest) == big);
    CHECK(largest <= (1U << 20));
    CHECK(keep(e, big) == digest); // kept once
    CHECK(content_of(e, keep(e, "")) == std::string());
    CHECK_FALSE(content_of(e, digest_of_bytes("never kept")));
}

ENGINE_TEST("engine: bytes that do not hash to their address are refused", "[contents]") {
    TestType t;
    engine::Engine& e = t.store;
    const ContentFile file("actual bytes");
    const std::string claimed = digest_of_bytes("other bytes");
    CHECK_THROWS_AS(e.put_content(claimed, file.fd, 12), StoreError);
    CHECK_FALSE(content_of(e, claimed));
}

ENGINE_TEST("engine: a content lives while an entry refers to it", "[contents]") {
    TestType t;
    engine::Engine& e = t.store;
    const std::string shared = keep(e, "shared bytes");
    const std::string own = keep(e, std::string(1000, 'x'));
    apply(e, "a", {referring("k1", {shared, own})});
    apply(e, "b", {referring("k2", {shared})});
    CHECK(bytes_of_cache(e, "a") == 6 + 12 + 1000); // the value and what it refers to
    REQUIRE(e.erase("a", {"k1"}, Access::raw).value.changed == 1);
    CHECK_FALSE(content_of(e, own));
    CHECK(content_of(e, shared) == "shared bytes"); // b still refers to it
    apply(e, "b", {put("k2", "overwritten")});
    CHECK_FALSE(content_of(e, shared));
}

ENGINE_TEST("engine: clearing and dropping a cache release its contents", "[contents]") {
    TestType t;
    engine::Engine& e = t.store;
    const std::string cleared = keep(e, "cleared");
    const std::string dropped = keep(e, "dropped");
    apply(e, "p", {referring("k", {cleared})});
    apply(e, "q", {referring("k", {dropped})});
    e.depend("root", "p");
    REQUIRE(e.invalidate("root", std::nullopt, false, "invalidate").ok());
    CHECK_FALSE(content_of(e, cleared));
    REQUIRE(e.drop("q").ok());
    CHECK_FALSE(content_of(e, dropped));
}

ENGINE_TEST("engine: a large value lives as a content, once, and goes with its entries",
            "[contents][large]") {
    TestType t;
    engine::Engine& e = t.store;
    const bool is_volatile = GENERATE(false, true);
    if (is_volatile && !make_volatile<TestType>(e, "c")) {
        return;
    }
    std::string large(engine::k_largest_inline_value + 3, '\0');
    for (std::size_t i = 0; i < large.size(); ++i) {
        large[i] = static_cast<char>(i * 31);
    }
    const std::string digest = digest_of_bytes(large);
    apply(e, "c", {put("a", large), put("b", large), put("small", "s")});
    CHECK(content_of(e, digest) == large); // kept once, by its hash
    CHECK(value_of(e, "c", "a") == large);
    std::string streamed;
    REQUIRE(e.read_value("c", "b", Access::raw, [&](std::string_view piece) {
                 streamed += piece;
             }).value);
    CHECK(streamed == large);
    const auto seen = scan_of(e, "c");
    REQUIRE(seen.size() == 3);
    CHECK(seen[0].value == large);
    CHECK(seen[2].value == "s");
    CHECK(bytes_of_cache(e, "c") == 2 * static_cast<std::int64_t>(large.size()) + 1); // per entry
    // Overwritten and erased, the content goes when the last entry holding it does.
    apply(e, "c", {put("a", "small now")});
    CHECK(content_of(e, digest));
    REQUIRE(e.erase("c", {"b"}, Access::raw).value.changed == 1);
    CHECK_FALSE(content_of(e, digest));
    // A write may hand its value over in pieces: the engine keeps it in the write's
    // transaction, reading it only when it does not hold those bytes already.
    int reads = 0;
    const auto in_pieces = [&](const engine::ChunkSink& sink) {
        ++reads;
        for (std::size_t at = 0; at < large.size(); at += 4096) {
            sink(std::string_view(large).substr(at, 4096));
        }
    };
    const engine::LargeValue pieces{digest, large.size(), in_pieces};
    apply(e, "c", {{"named", "", std::nullopt, std::nullopt, {}, pieces}});
    CHECK(value_of(e, "c", "named") == large);
    CHECK(reads == 1);
    apply(e, "c", {{"again", "", std::nullopt, std::nullopt, {}, pieces}});
    CHECK(reads == 1); // held already
    CHECK(value_of(e, "c", "again") == large);
    // Bytes that are not what the write claims are refused, and the batch with them.
    const engine::LargeValue wrong{digest_of_bytes("other"), large.size(), in_pieces};
    CHECK_THROWS_AS(apply(e, "c", {put("first", "v"),
                                   {"wrong", "", std::nullopt, std::nullopt, {}, wrong}}),
                    StoreError);
    CHECK(e.get("c", "first", Access::raw).value == std::nullopt);
    CHECK(e.check().healthy());
}

ENGINE_TEST("engine: a write that refers to a content not kept is refused whole", "[contents]") {
    TestType t;
    engine::Engine& e = t.store;
    CHECK_THROWS_AS(apply(e, "c", {put("before", "v"), referring("k", {digest_of_bytes("x")})}),
                    StoreError);
    CHECK(e.get("c", "before", Access::raw).status == engine::Status::no_cache);
}

ENGINE_TEST("engine: gc removes a content nothing referred to once its pin passed", "[contents]") {
    TestType t;
    engine::Engine& e = t.store;
    const std::string orphan = keep(e, "left by a crash"); // 15 bytes
    CHECK(e.collect_garbage(std::nullopt).bytes == 0);     // a write may still refer to it
    CHECK(content_of(e, orphan));
    t.clock.advance(3601);
    CHECK(e.collect_garbage(std::nullopt).bytes == 15);
    CHECK_FALSE(content_of(e, orphan));
}

ENGINE_TEST("engine: a scan names the contents an entry refers to", "[contents][copy]") {
    TestType t;
    engine::Engine& e = t.store;
    const std::string output = "an output's bytes";
    const std::string digest = keep(e, output);
    const std::string large(engine::k_largest_inline_value + 7, 'L');
    apply(e, "c", {referring("r", {digest}), put("big", large), put("small", "s")});
    std::map<std::string, std::vector<std::pair<std::string, std::string>>> seen;
    std::map<std::string, std::string> value_contents;
    REQUIRE(e.scan("c", Access::raw, [&](const engine::EntryView& entry) {
        REQUIRE(entry.contents);
        for (const auto& content : entry.contents()) {
            std::string bytes;
            content.read([&](std::string_view piece) { bytes += piece; });
            CHECK(bytes.size() == content.size);
            seen[std::string(entry.key)].emplace_back(content.digest, bytes);
        }
        value_contents[std::string(entry.key)] = std::string(entry.value_content);
    }) == Status::ok);
    using Found = std::vector<std::pair<std::string, std::string>>;
    CHECK(seen["r"] == Found{{digest, output}});
    CHECK(seen["big"] == Found{{digest_of_bytes(large), large}});
    CHECK(seen["small"].empty());
    CHECK(value_contents["big"] == digest_of_bytes(large));
    CHECK(value_contents["r"].empty());
}

namespace {

// An image for receive: caches "a" (a default ttl, limits) and "b" (a builder, unbuilt), the
// edge a -> b, and in "a": an entry that expires, one that never does, a large value and one
// that refers to a content. `reads` counts the reads of that content.
struct ImageOfTwoCaches {
    std::string output = "bytes of an output";
    std::string large = std::string(engine::k_largest_inline_value + 11, 'g');
    int reads = 0;
    engine::NamespaceImage image;

    ImageOfTwoCaches() {
        engine::CacheSettings a;
        a.default_ttl = Duration(std::chrono::minutes(5));
        a.max_entries = 10;
        engine::CacheSettings b;
        b.builder = "echo built";
        image.caches = {{"a", a, true}, {"b", b, false}};
        image.edges = {{"a", "b"}};
        image.entries = [this](const std::string& cache, const engine::EntryFeed& feed) {
            if (cache != "a") {
                return;
            }
            const auto read = [this](const engine::ChunkSink& sink) {
                ++reads;
                sink(output);
            };
            const engine::LargeValue content{digest_of_bytes(output), output.size(), read};
            const engine::LargeValue value{digest_of_bytes(large), large.size(),
                                           [this](const engine::ChunkSink& sink) { sink(large); }};
            feed({"expires", "e", k_t0 + 100, std::nullopt, {}, std::nullopt}, {});
            feed({"never", "n", std::nullopt, std::nullopt, {}, std::nullopt}, {});
            feed({"large", "", std::nullopt, std::nullopt, {}, value}, {});
            feed({"record", "r", std::nullopt, std::nullopt, {content.digest}, std::nullopt},
                 {content});
        };
    }

    // Checks that `e` holds what the image does.
    void check_held_by(engine::Engine& e) const {
        CHECK(cache_names(e) == Names{"a", "b"});
        CHECK(keys_of(e, "a") == Names{"expires", "large", "never", "record"});
        CHECK(entry_of(e, "a", "expires")->expires == k_t0 + 100);
        CHECK(entry_of(e, "a", "never")->expires == std::nullopt); // no default ttl given
        CHECK(value_of(e, "a", "large") == large);
        CHECK(content_of(e, digest_of_bytes(output)) == output);
        CHECK(fields(*e.settings("a")) == fields(image.caches[0].settings));
        CHECK(fields(*e.settings("b")) == fields(image.caches[1].settings));
        CHECK(e.count("b", Access::built).status == Status::unbuilt);
        CHECK(e.count("a", Access::built).status == Status::ok);
        REQUIRE(e.edges().size() == 1);
        CHECK(e.edges()[0].parent == "a");
        CHECK(e.edges()[0].child == "b");
        CHECK(e.check().healthy());
    }
};

} // namespace

ENGINE_TEST("engine: receive writes a whole namespace", "[copy]") {
    TestType t;
    engine::Engine& e = t.store;
    ImageOfTwoCaches copy;
    REQUIRE(e.receive(copy.image, false));
    copy.check_held_by(e);
    CHECK(e.log(std::nullopt, 10).empty()); // nothing was invalidated
}

ENGINE_TEST("engine: receive refuses a namespace that holds caches, unless it replaces it",
            "[copy]") {
    TestType t;
    engine::Engine& e = t.store;
    const std::string kept = keep(e, "kept already");
    set(e, "old", "k", "v");
    e.depend("old", "a");
    ImageOfTwoCaches copy;
    copy.output = "kept already"; // a content the store holds: it is not read again
    CHECK_FALSE(e.receive(copy.image, false));
    CHECK(cache_names(e) == Names{"a", "old"}); // as it was
    REQUIRE(e.receive(copy.image, true));
    copy.check_held_by(e); // "old" and its edge are gone
    CHECK(copy.reads == 0);
    CHECK(content_of(e, kept) == "kept already");
}

ENGINE_TEST("engine: a receive that fails half-way leaves everything as it was", "[copy]") {
    TestType t;
    engine::Engine& e = t.store;
    set(e, "old", "k", "v");
    ImageOfTwoCaches copy;
    const auto entries = copy.image.entries;
    copy.image.entries = [&](const std::string& cache, const engine::EntryFeed& feed) {
        entries(cache, feed);
        throw std::runtime_error("the source went away");
    };
    CHECK_THROWS_AS(e.receive(copy.image, true), std::runtime_error);
    CHECK(cache_names(e) == Names{"old"});
    CHECK(value_of(e, "old", "k") == "v");
    CHECK(e.check().healthy());
}

ENGINE_TEST("engine: receive refuses volatile caches and cycles, writing nothing", "[copy]") {
    TestType t;
    engine::Engine& e = t.store;
    ImageOfTwoCaches copy;
    SECTION("a volatile cache") {
        copy.image.caches[1].settings.is_volatile = true;
    }
    SECTION("a cycle") {
        copy.image.edges.push_back({"b", "a"});
    }
    CHECK_THROWS_AS(e.receive(copy.image, false), UsageError);
    CHECK(e.list().empty());
}

ENGINE_TEST("engine: opposite edges added by two clients never both succeed", "[graph][race]") {
    TestType t;
    auto other = t.another();
    if (!other) {
        return; // a store no other client can reach
    }
    // One after the other: the second client sees the first one's edge.
    t.store.depend("x1", "x2");
    CHECK_THROWS_WITH(other->depend("x2", "x1"), Catch::Contains("x2 -> x1 -> x2"));

    // At once, each client in a thread of its own: the cycle check and the insert are one
    // step, so exactly one of the two edges is added. Assertions stay in this thread.
    for (int round = 0; round < 10; ++round) {
        const std::string up = "up" + std::to_string(round);
        const std::string down = "down" + std::to_string(round);
        auto first = t.another();
        auto second = t.another();
        std::atomic<int> added{0};
        std::atomic<int> refused{0};
        std::latch start(2);
        const auto add = [&](engine::Engine& e, const std::string& parent,
                             const std::string& child) {
            start.arrive_and_wait();
            try {
                e.depend(parent, child);
                ++added;
            } catch (const UsageError&) {
                ++refused; // the cycle the other edge would close
            } catch (...) { // counted as neither: the check below fails
            }
        };
        std::thread one(add, std::ref(*first), up, down);
        std::thread two(add, std::ref(*second), down, up);
        one.join();
        two.join();
        CHECK(added == 1);
        CHECK(refused == 1);
    }
    const auto edges = t.store.edges();
    CHECK(edges.size() == 11); // x1 -> x2 and one edge per round
    for (const auto& edge : edges) { // and no cycle: no parent lies below its child
        const auto below = t.store.dependencies(edge.child, true).value.children;
        CHECK(std::find(below.begin(), below.end(), edge.parent) == below.end());
    }
}
