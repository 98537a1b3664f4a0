// Auto-sync windows, ported from the seed's autosync_test.py and the behaviour it documents
// (behaviour.md 1.4, "Observed with a fake clock").
#include "hooks/AutoSync.hpp"
#include "base/Error.hpp"

#include <catch2/catch.hpp>

using namespace cacheman;

namespace {

// Edits `count` at `when` then checks, as the seed does at every edit.
bool edit(EditWindow& window, double when, std::int64_t count = 1) {
    window.record(when, count, when);
    return window.save_due(when);
}

} // namespace

TEST_CASE("the seed's default windows, on a fake clock", "[autosync]") {
    const double t0 = 1'700'000'000;
    EditWindow window(default_time_checks());

    SECTION("10,000 quick edits save at once; 9,999 do not") {
        CHECK_FALSE(edit(window, t0, 9'999));
        CHECK(edit(window, t0, 1));
    }
    SECTION("10 edits, then one more 61 s later: save") {
        CHECK_FALSE(edit(window, t0, 10));
        CHECK(edit(window, t0 + 61));
    }
    SECTION("10 edits, then one more 30 s later: no save") {
        edit(window, t0, 10);
        CHECK_FALSE(edit(window, t0 + 30));
    }
    SECTION("9 edits, then one more 61 s later: no save") {
        edit(window, t0, 9);
        CHECK_FALSE(edit(window, t0 + 61));
    }
    SECTION("1 edit, then one more 301 s later: save") {
        edit(window, t0);
        CHECK(edit(window, t0 + 301));
    }
    SECTION("1 edit, then one more 200 s later: no save") {
        edit(window, t0);
        CHECK_FALSE(edit(window, t0 + 200));
    }
    SECTION("1 edit, then one more 901 s later: the old edit fell out") {
        edit(window, t0);
        CHECK_FALSE(edit(window, t0 + 901));
    }
}

TEST_CASE("seed test_out_of_window: future and too-old edits are ignored", "[autosync]") {
    const double now = 1'700'000'000;
    EditWindow window({{1, 2}, {5, 10}});
    window.record(now + 1, 1, now);
    window.record(now - 5 * 86400, 1, now);
    CHECK(window.buckets().empty());
    window.record(now, 1, now);
    CHECK(window.buckets().size() == 1);
    window.record(now - 86400, 1, now);
    CHECK(window.buckets().size() == 1);
}

TEST_CASE("seed test_auto_sync_time_windows: a fast cache saves every 2nd quick edit",
          "[autosync]") {
    double now = 1'700'000'000;
    EditWindow window({{1, 2}, {5, 10}});
    CHECK_FALSE(edit(window, now)); // 1 edit: below the 2-edit threshold
    window.clear();
    CHECK_FALSE(edit(window, now));
    CHECK(edit(window, now)); // the 2nd edit at the same instant saves
    window.clear();
    CHECK_FALSE(edit(window, now));
    now += 2;
    CHECK_FALSE(edit(window, now)); // one edit in each band: no save
    window.clear();
    int saves = 0;
    for (int i = 0; i < 10; ++i) {
        if (edit(window, now)) {
            ++saves;
            window.clear();
        }
    }
    CHECK(saves == 5);
}

TEST_CASE("seed test_window_cycling: buckets age out without a crash", "[autosync]") {
    double now = 1'700'000'000;
    EditWindow window({{1, 2}, {5, 10}});
    window.record(now, 1, now);
    now += 1;
    window.record(now, 1, now);
    CHECK(window.buckets().size() == 2);
    now += 3;
    window.prune(now);
    CHECK(window.buckets().size() == 2);
    now += 2;
    window.prune(now);
    CHECK(window.buckets().empty());
    now += 10;
    window.prune(now);
    CHECK_FALSE(window.save_due(now));
}

TEST_CASE("autosync check specs (--autosync-checks)", "[autosync]") {
    const auto checks = parse_time_checks("900:1,60:10000,300:10");
    REQUIRE(checks.size() == 3);
    CHECK(checks[0].window_seconds == 60);
    CHECK(checks[0].count == 10000);
    CHECK(format_time_checks(checks) == "60:10000,300:10,900:1");
    for (const char* bad :
         {"", "60", "60:", ":5", "60:0", "0:5", "a:b", "60:1,60:2", "60:1,", "-1:5"}) {
        INFO(bad);
        CHECK_THROWS_AS(parse_time_checks(bad), UsageError);
    }
}
