// The public C++ library API (core/include/cacheman/cacheman.hpp), used as a program would: only
// the public header, a store in a temporary directory, a fake clock where time matters.
#include "EnvVar.hpp"
#include "TempDir.hpp"

#include <cacheman/cacheman.hpp>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <sqlite3.h>

using cacheman::Cache;
using cacheman::Manager;
using cacheman::WriteMode;
using cacheman::test::EnvVar;
using Names = std::vector<std::string>;
using Items = std::vector<std::pair<std::string, std::string>>;
using namespace std::chrono_literals;

namespace {

// A store directory and a clock that only moves when the test says so.
struct Fixture {
    cacheman::test::TempDir tmp;
    std::shared_ptr<double> clock = std::make_shared<double>(1'700'000'000.0);

    [[nodiscard]] std::string dir() const { return (tmp.path() / "store").string(); }
    [[nodiscard]] Manager open(std::chrono::milliseconds busy = 10'000ms) const {
        cacheman::ManagerOptions options{
            .dir = dir(), .name_space = "default", .busy_timeout = busy};
        options.clock = [now = clock] { return *now; };
        return Manager::open(std::move(options));
    }
    void advance(double seconds) const { *clock += seconds; }
};

// Holds the store's write lock from outside cacheman until destroyed.
class WriteLock {
  public:
    explicit WriteLock(const std::string& path) {
        REQUIRE(sqlite3_open(path.c_str(), &m_db) == SQLITE_OK);
        REQUIRE(sqlite3_exec(m_db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
    }
    ~WriteLock() {
        sqlite3_exec(m_db, "ROLLBACK", nullptr, nullptr, nullptr);
        sqlite3_close(m_db);
    }
    WriteLock(const WriteLock&) = delete;
    WriteLock& operator=(const WriteLock&) = delete;

  private:
    sqlite3* m_db = nullptr;
};

Items items_of(const Cache& cache) {
    Items out;
    for (const auto& [key, value] : cache) {
        out.emplace_back(key, value);
    }
    return out;
}

} // namespace

// --- write-through -------------------------------------------------------------------------------

TEST_CASE("api: the example of the issue compiles and works", "[api]") {
    Fixture f;
    auto m = Manager::open({.dir = f.dir(), .name_space = "default"});
    cacheman::Cache c = m.cache("root");
    c.set("raw", "1");
    std::optional<std::string> v = c.get("raw");
    CHECK(v == "1");
    c["cooked"] = "2";
    m.depend("root", "edge");
    m.cache("edge").set("derived", "3");
    CHECK(m.invalidate("root") == Names{"root", "edge"});
    CHECK_FALSE(c.get("raw"));
    CHECK(m.cache("edge").empty());
    CHECK(m.path() == f.dir() + "/default.sqlite");
}

TEST_CASE("api: set, get, contains, erase, size, keys", "[api]") {
    Fixture f;
    auto m = f.open();
    Cache c = m.cache("c");
    CHECK(c.name() == "c");
    CHECK(c.mode() == WriteMode::write_through);
    c.set("k", "v1");
    c.set("k", "v2");
    c.set("bin", std::string("\0\xFF", 2));
    c.set("", "empty key");
    CHECK(c.get("k") == "v2");
    CHECK(c.get("bin") == std::string("\0\xFF", 2));
    CHECK(c.get("") == "empty key");
    CHECK(c.contains("k"));
    CHECK_FALSE(c.contains("missing"));
    CHECK(c.size() == 3);
    CHECK(c.keys() == Names{"", "bin", "k"});
    CHECK(c.erase("k"));
    CHECK_FALSE(c.erase("k"));
    CHECK(c.size() == 2);
    c.clear();
    CHECK(c.empty());
    CHECK(m.caches() == Names{"c"}); // cleared, not dropped
}

TEST_CASE("api: a cache reads as empty until its first write creates it", "[api]") {
    Fixture f;
    auto m = f.open();
    Cache c = m.cache("later");
    CHECK_FALSE(c.get("k"));
    CHECK(c.keys().empty());
    CHECK(c.items().empty());
    CHECK(c.size() == 0);
    CHECK_FALSE(c.erase("k"));
    c.clear();
    CHECK(m.caches().empty());
    c["k"] = "v";
    CHECK(m.caches() == Names{"later"});
}

TEST_CASE("api: iteration is a snapshot in byte order", "[api]") {
    Fixture f;
    auto m = f.open();
    Cache c = m.cache("c");
    // Byte order: "B" < "a" < "z" < "é" (0xC3 0xA9), whatever the sign of char.
    for (const char* key : {"z", "a", "\xC3\xA9", "B"}) {
        c.set(key, std::string("v-") + key);
    }
    const Items expected{{"B", "v-B"}, {"a", "v-a"}, {"z", "v-z"}, {"\xC3\xA9", "v-\xC3\xA9"}};
    CHECK(items_of(c) == expected);
    CHECK(c.items() == expected);

    Items seen;
    for (const auto& [key, value] : c) {
        c.erase(key); // edits do not change what the loop sees
        c.set("new-" + key, value);
        seen.emplace_back(key, value);
    }
    CHECK(seen == expected);
    CHECK(c.keys() == Names{"new-B", "new-a", "new-z", "new-\xC3\xA9"});
    CHECK(std::distance(c.begin(), c.end()) == 4);
}

TEST_CASE("api: operator[] sets, reads as optional, and throws as string when missing", "[api]") {
    Fixture f;
    auto m = f.open();
    Cache c = m.cache("c");
    c["a"] = "1";
    c["b"] = std::string("2");
    std::optional<std::string> a = c["a"];
    std::optional<std::string> missing = c["missing"];
    std::string b = c["b"];
    CHECK(a == "1");
    CHECK_FALSE(missing);
    CHECK(b == "2");
    CHECK(c["a"].get() == "1");
    CHECK_THROWS_AS(c["missing"].value(), cacheman::NotFoundError);
    CHECK_THROWS_WITH(
        [&] {
            std::string s = c["missing"];
            return s;
        }(),
        "no such key 'missing' in cache 'c'");
    c["copy"] = c["a"];
    CHECK(c.get("copy") == "1");
    CHECK_THROWS_AS(c["copy"] = c["missing"], cacheman::NotFoundError);
    CHECK(c.get("copy") == "1");
}

TEST_CASE("api: a ttl expires the entry that long after set", "[api]") {
    Fixture f;
    auto m = f.open();
    Cache c = m.cache("c");
    c.set("k", "v", 1500ms);
    c.set("forever", "v");
    f.advance(1.4);
    CHECK(c.get("k") == "v");
    f.advance(0.2);
    CHECK_FALSE(c.get("k"));
    CHECK(c.keys() == Names{"forever"});
    CHECK_THROWS_AS(c.set("k", "v", 0ms), cacheman::UsageError);
    CHECK_THROWS_AS(c.set("k", "v", -5ms), cacheman::UsageError);
}

TEST_CASE("api: depend, dependents, invalidate cascades, undepend, drop", "[api]") {
    Fixture f;
    auto m = f.open();
    m.depend("raw", "parsed");
    m.depend("parsed", "report");
    m.depend("raw", "index");
    for (const char* name : {"raw", "parsed", "report", "index", "other"}) {
        m.cache(name).set("k", name);
    }
    CHECK(m.caches() == Names{"index", "other", "parsed", "raw", "report"});
    CHECK(m.dependents("raw") == Names{"index", "parsed", "report"});
    CHECK(m.dependents("report").empty());

    SECTION("invalidate a key clears it and every dependent") {
        m.cache("raw").set("j", "kept");
        CHECK(m.invalidate("raw", "k") == Names{"raw", "index", "parsed", "report"});
        CHECK(m.cache("raw").keys() == Names{"j"});
        CHECK(m.cache("parsed").empty());
        CHECK(m.cache("other").get("k") == "other");
    }
    SECTION("invalidate the middle of a chain leaves its parents") {
        CHECK(m.invalidate("parsed") == Names{"parsed", "report"});
        CHECK(m.cache("raw").get("k") == "raw");
        CHECK(m.cache("index").get("k") == "index");
        CHECK(m.cache("report").empty());
    }
    SECTION("undepend cuts the cascade") {
        m.undepend("raw", "parsed");
        CHECK(m.invalidate("raw") == Names{"raw", "index"});
        CHECK(m.cache("parsed").get("k") == "parsed");
        CHECK_THROWS_AS(m.undepend("raw", "parsed"), cacheman::NotFoundError);
    }
    SECTION("drop clears the dependents and removes the cache") {
        CHECK(m.drop("parsed") == Names{"report"});
        CHECK(m.caches() == Names{"index", "other", "raw", "report"});
        CHECK(m.cache("report").empty());
        CHECK(m.dependents("raw") == Names{"index"});
        CHECK_THROWS_AS(m.drop("parsed"), cacheman::NotFoundError);
    }
}

TEST_CASE("api: errors are public types with a kind and core's message", "[api]") {
    Fixture f;
    auto m = f.open();
    m.depend("a", "b");
    try {
        m.depend("b", "a");
        FAIL("a cycle was accepted");
    } catch (const cacheman::UsageError& error) {
        CHECK(error.kind() == cacheman::ErrorKind::usage);
        CHECK(std::string(error.what()) == "dependency would close a cycle: b -> a -> b");
    }
    try {
        m.invalidate("nope");
        FAIL("invalidating a missing cache succeeded");
    } catch (const cacheman::Error& error) {
        CHECK(error.kind() == cacheman::ErrorKind::not_found);
        CHECK(std::string(error.what()) == "no such cache 'nope'");
    }
    CHECK_THROWS_AS(m.dependents("nope"), cacheman::NotFoundError);
    CHECK_THROWS_AS(m.cache(""), cacheman::UsageError);
    CHECK_THROWS_AS(m.cache("bad\nname"), cacheman::UsageError);
    CHECK_THROWS_AS(m.cache("c").set(std::string("nul\0key", 7), "v"), cacheman::UsageError);
    CHECK_THROWS_AS(m.cache("c").get("\xFF"), cacheman::UsageError);

    // A file that is not a cacheman store is refused, and left as it was.
    const auto foreign = f.tmp.path() / "foreign";
    std::filesystem::create_directories(foreign);
    std::ofstream(foreign / "default.sqlite") << "this is not a database, just text\n";
    try {
        Manager::open({.dir = foreign.string(), .name_space = "default"});
        FAIL("opened a foreign file");
    } catch (const cacheman::StoreError& error) {
        CHECK(error.kind() == cacheman::ErrorKind::store);
        CHECK_THAT(error.what(), Catch::Contains("not a cacheman store"));
    }
    CHECK_THROWS_AS(Manager::open({.dir = f.dir(), .name_space = "../escape"}),
                    cacheman::UsageError);
}

TEST_CASE("api: open resolves an empty dir and namespace from the environment", "[api]") {
    Fixture f;
    const std::string from_env = (f.tmp.path() / "env").string();
    {
        EnvVar dir("CACHEMAN_DIR", from_env.c_str());
        EnvVar name_space("CACHEMAN_NAMESPACE", "proj");
        auto m = Manager::open();
        CHECK(m.path() == from_env + "/proj.sqlite");
        auto explicit_ns = Manager::open({.name_space = "other"});
        CHECK(explicit_ns.path() == from_env + "/other.sqlite");
    }
    {
        EnvVar dir("CACHEMAN_DIR", nullptr);
        EnvVar name_space("CACHEMAN_NAMESPACE", "");
        EnvVar xdg("XDG_CACHE_HOME", nullptr);
        EnvVar home("HOME", (f.tmp.path() / "home").c_str());
        CHECK(Manager::open().path() ==
              (f.tmp.path() / "home/.cache/cacheman/default.sqlite").string());
    }
    CHECK(std::filesystem::exists(from_env + "/proj.sqlite"));
}

TEST_CASE("api: Managers on one store see each other's write-through writes", "[api]") {
    Fixture f;
    auto one = f.open();
    auto two = f.open();
    one.cache("c").set("k", "v");
    CHECK(two.cache("c").get("k") == "v");
    two.invalidate("c");
    CHECK_FALSE(one.cache("c").get("k"));
}

TEST_CASE("api: a Cache outlives its Manager, moved-from handles refuse use", "[api]") {
    Fixture f;
    std::optional<Cache> kept;
    {
        auto m = f.open();
        kept.emplace(m.cache("c"));
        Manager moved = std::move(m);
        CHECK_THROWS_AS(m.caches(), cacheman::UsageError); // NOLINT(bugprone-use-after-move)
    }
    kept->set("k", "v");
    CHECK(f.open().cache("c").get("k") == "v");
    Cache taken = std::move(*kept);
    CHECK_THROWS_AS(kept->get("k"), cacheman::UsageError); // NOLINT(bugprone-use-after-move)
    CHECK(taken.get("k") == "v");
}

// --- write-back ----------------------------------------------------------------------------------

TEST_CASE("api write-back: reads see buffered edits, others see them after save()",
          "[api][write-back]") {
    Fixture f;
    auto m = f.open();
    auto other = f.open();
    m.cache("c").set("stored", "old");
    m.cache("c").set("doomed", "x");

    Cache wb = m.cache("c", WriteMode::write_back);
    CHECK(wb.mode() == WriteMode::write_back);
    wb["stored"] = "new";
    wb.set("added", "1");
    wb.set("bin", std::string("\0\xFF", 2));
    CHECK(wb.erase("doomed"));
    CHECK_FALSE(wb.erase("never-there"));
    CHECK(wb.pending() == 4);

    CHECK(wb.get("stored") == "new");
    CHECK_FALSE(wb.contains("doomed"));
    CHECK(wb.keys() == Names{"added", "bin", "stored"});
    CHECK(items_of(wb) ==
          Items{{"added", "1"}, {"bin", std::string("\0\xFF", 2)}, {"stored", "new"}});
    CHECK(wb.size() == 3);

    const Cache theirs = other.cache("c");
    CHECK(theirs.items() == Items{{"doomed", "x"}, {"stored", "old"}});

    wb.save();
    CHECK(wb.pending() == 0);
    CHECK(theirs.items() ==
          Items{{"added", "1"}, {"bin", std::string("\0\xFF", 2)}, {"stored", "new"}});
    CHECK_FALSE(theirs.get("doomed"));
    wb.save(); // nothing to do
    CHECK(theirs.size() == 3);
}

// Seed: autosync tests, the 60 s window: a save is due at 10,000 edits within a minute.
TEST_CASE("api write-back: commits at the 10,000th quick edit, not at the 9,999th",
          "[api][write-back]") {
    Fixture f;
    auto m = f.open();
    auto other = f.open();
    Cache wb = m.cache("c", WriteMode::write_back);
    for (int i = 0; i < 9'999; ++i) {
        wb.set("key" + std::to_string(i), "v");
    }
    CHECK(wb.pending() == 9'999);
    CHECK(other.caches().empty());
    CHECK(wb.size() == 9'999);

    wb.set("key9999", "v");
    CHECK(wb.pending() == 0);
    CHECK(other.cache("c").size() == 10'000);
    CHECK(other.cache("c").get("key9999") == "v");
}

// Seed: autosync tests, the 300 s window: 10 edits between 60 and 300 s ago make a save due at
// the next edit; 9 do not.
TEST_CASE("api write-back: commits at the next edit once 10 edits are 60-300 s old",
          "[api][write-back]") {
    Fixture f;
    auto m = f.open();
    auto other = f.open();
    Cache wb = m.cache("c", WriteMode::write_back);
    for (int i = 0; i < 9; ++i) {
        wb.set("early" + std::to_string(i), "v");
    }
    f.advance(61);
    wb.set("late", "v");
    CHECK(wb.pending() == 10); // 9 old edits and 1 new: nothing due
    CHECK(other.caches().empty());

    wb.set("early9", "v"); // the 10th edit in the 60-300 s band once time moves on
    f.advance(61);
    wb.set("later", "v");
    CHECK(wb.pending() == 0);
    CHECK(other.cache("c").size() == 12);
}

// Seed: autosync tests, the 900 s window: one edit 300-900 s old makes a save due.
TEST_CASE("api write-back: a lone edit is committed by an edit 5 minutes later",
          "[api][write-back]") {
    Fixture f;
    auto m = f.open();
    Cache wb = m.cache("c", WriteMode::write_back);
    wb.set("first", "v");
    f.advance(299);
    wb.set("second", "v");
    CHECK(wb.pending() == 2);
    f.advance(2);
    wb.set("third", "v");
    CHECK(wb.pending() == 0);
    CHECK(f.open().cache("c").size() == 3);
}

TEST_CASE("api write-back: custom, empty and invalid sync checks", "[api][write-back]") {
    Fixture f;
    auto m = f.open();
    SECTION("custom") {
        Cache wb = m.cache(
            "c", {.mode = WriteMode::write_back, .sync_checks = {{.window = 10s, .edits = 3}}});
        wb.set("a", "1");
        wb.set("b", "2");
        CHECK(wb.pending() == 2);
        wb.set("a", "3"); // an overwrite counts as an edit
        CHECK(wb.pending() == 0);
        CHECK(f.open().cache("c").get("a") == "3");
    }
    SECTION("empty: only save() and destruction commit") {
        Cache wb = m.cache("c", {.mode = WriteMode::write_back, .sync_checks = {}});
        for (int i = 0; i < 10'001; ++i) {
            wb.set("k", std::to_string(i));
        }
        f.advance(1000);
        wb.set("k", "last");
        CHECK(wb.pending() == 1);
        CHECK(f.open().caches().empty());
    }
    SECTION("invalid") {
        using cacheman::CacheOptions;
        const auto with = [](std::vector<cacheman::SyncCheck> checks) {
            return CacheOptions{.mode = WriteMode::write_back, .sync_checks = std::move(checks)};
        };
        CHECK_THROWS_AS(m.cache("c", with({{0s, 1}})), cacheman::UsageError);
        CHECK_THROWS_AS(m.cache("c", with({{60s, 0}})), cacheman::UsageError);
        CHECK_THROWS_AS(m.cache("c", with({{60s, 1}, {60s, 2}})), cacheman::UsageError);
    }
    CHECK(cacheman::default_sync_checks().size() == 3);
    CHECK(cacheman::default_sync_checks()[0].window == 60s);
    CHECK(cacheman::default_sync_checks()[0].edits == 10'000);
}

TEST_CASE("api write-back: destruction and move-assignment commit", "[api][write-back]") {
    Fixture f;
    auto m = f.open();
    auto other = f.open();
    {
        Cache wb = m.cache("c", WriteMode::write_back);
        wb.set("k", "v");
        CHECK(other.caches().empty());
    }
    CHECK(other.cache("c").get("k") == "v");

    Cache wb = m.cache("c", WriteMode::write_back);
    wb.set("k", "replaced");
    wb = m.cache("d", WriteMode::write_back);
    CHECK(other.cache("c").get("k") == "replaced");
    wb.set("k", "in d");
    CHECK_FALSE(other.cache("d").get("k"));
}

TEST_CASE("api write-back: erase and clear hide stored entries until the commit removes them",
          "[api][write-back]") {
    Fixture f;
    auto m = f.open();
    Cache c = m.cache("c");
    c.set("a", "1");
    c.set("b", "2");
    c.set("c", "3");

    Cache wb = m.cache("c", WriteMode::write_back);
    wb.set("d", "4");
    CHECK(wb.erase("a"));
    CHECK_FALSE(wb.erase("a"));
    CHECK(wb.keys() == Names{"b", "c", "d"});
    CHECK(c.keys() == Names{"a", "b", "c"});
    wb.save();
    CHECK(c.keys() == Names{"b", "c", "d"});

    wb.clear();
    wb.set("e", "5");
    CHECK(wb.items() == Items{{"e", "5"}});
    CHECK(c.size() == 3);
    wb.save();
    CHECK(c.items() == Items{{"e", "5"}});
    c.set("after", "6"); // the next write purges what the commit left expired
    CHECK(c.keys() == Names{"after", "e"});
}

TEST_CASE("api write-back: a buffered ttl counts from the set, not the commit",
          "[api][write-back]") {
    Fixture f;
    auto m = f.open();
    Cache wb = m.cache("c", WriteMode::write_back);
    wb.set("k", "v", 10s);
    f.advance(6);
    CHECK(wb.get("k") == "v");
    wb.save();
    f.advance(3);
    CHECK(m.cache("c").get("k") == "v");
    f.advance(2);
    CHECK_FALSE(m.cache("c").get("k"));
    CHECK_FALSE(wb.get("k"));
}

TEST_CASE("api write-back: invalidate and drop commit buffered edits first", "[api][write-back]") {
    Fixture f;
    auto m = f.open();
    m.depend("parent", "child");
    Cache parent = m.cache("parent");
    Cache child = m.cache("child", WriteMode::write_back);
    parent.set("p", "1");
    child.set("c", "1");
    m.invalidate("parent");
    CHECK(child.pending() == 0);
    CHECK(child.empty()); // the buffered entry was cleared along with the rest

    Cache lone = m.cache("lone", WriteMode::write_back);
    lone.set("k", "v"); // the cache exists only in the buffer
    CHECK(m.drop("lone").empty());
    CHECK(lone.empty());
    CHECK(m.caches() == Names{"child", "parent"});
}

TEST_CASE("api write-back: a failed commit keeps the edits, the destructor reports it",
          "[api][write-back]") {
    Fixture f;
    auto m = f.open(50ms);
    std::vector<std::string> lost;
    std::optional<cacheman::ErrorKind> lost_kind;
    std::optional<WriteLock> held; // outlives wb below
    {
        Cache wb = m.cache("c", {.mode = WriteMode::write_back,
                                 .on_lost_edits = [&](const cacheman::Error& error) {
                                     lost.emplace_back(error.what());
                                     lost_kind = error.kind();
                                 }});
        wb.set("k", "v");
        {
            WriteLock lock(m.path());
            CHECK_THROWS_AS(wb.save(), cacheman::LockedError);
            CHECK(wb.pending() == 1);
            CHECK(wb.get("k") == "v");
        }
        wb.save();
        CHECK(m.cache("c").get("k") == "v");

        wb.set("k", "lost");
        held.emplace(m.path());
        // wb is destroyed here, with the lock held: no exception escapes.
    }
    held.reset();
    REQUIRE(lost.size() == 1);
    CHECK(lost_kind == cacheman::ErrorKind::store);
    CHECK(m.cache("c").get("k") == "v");
}
