#include "base/Error.hpp"
#include "engine/sqlite/FlockFlight.hpp"
#include "run/Memoizer.hpp"
#include "run/RunKey.hpp"
#include "run/RunRecord.hpp"
#include "TempDir.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <future>
#include <map>

using namespace cacheman;

namespace {

EnvLookup env_of(std::map<std::string, std::string> values) {
    return [values](const char* name) -> std::optional<std::string> {
        const auto found = values.find(name);
        return found == values.end() ? std::nullopt : std::optional<std::string>(found->second);
    };
}

void write(const std::filesystem::path& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

} // namespace

TEST_CASE("run records round-trip and refuse anything else", "[run]") {
    RunRecord record{3, 1.25, 1700000000.5, std::string("out\0put", 7), "err"};
    const auto decoded = decode_run_record(encode(record));
    REQUIRE(decoded);
    CHECK(decoded->exit_code == 3);
    CHECK(decoded->duration == 1.25);
    CHECK(decoded->created_at == 1700000000.5);
    CHECK(decoded->out == record.out);
    CHECK(decoded->err == "err");
    const std::string bytes = encode(record);
    CHECK_FALSE(decode_run_record(bytes.substr(0, bytes.size() - 1)));
    CHECK_FALSE(decode_run_record(bytes + "x"));
    CHECK_FALSE(decode_run_record("plain value"));
    CHECK_FALSE(decode_run_record(""));
}

TEST_CASE("the run key covers argv, cwd, env and --key", "[run][key]") {
    const auto env = env_of({{"A", "1"}, {"EMPTY", ""}});
    RunSpec spec{{"echo", "a b"}, "/w", {}, {}, std::nullopt};
    const std::string base = compute_run_key(spec, env).hex;
    CHECK(base.size() == 32);
    CHECK(compute_run_key(spec, env).hex == base); // stable

    RunSpec split = spec;
    split.argv = {"echo", "a", "b"};
    CHECK(compute_run_key(split, env).hex != base);
    RunSpec joined = spec;
    joined.argv = {"echoa b"};
    CHECK(compute_run_key(joined, env).hex != base);
    RunSpec moved = spec;
    moved.cwd = "/other";
    CHECK(compute_run_key(moved, env).hex != base);

    RunSpec with_env = spec;
    with_env.env_names = {"A"};
    const std::string a1 = compute_run_key(with_env, env).hex;
    CHECK(a1 != base);
    CHECK(compute_run_key(with_env, env_of({{"A", "2"}})).hex != a1);
    with_env.env_names = {"EMPTY"};
    const std::string empty = compute_run_key(with_env, env).hex;
    with_env.env_names = {"UNSET"};
    CHECK(compute_run_key(with_env, env).hex != empty);

    RunSpec keyed = spec;
    keyed.extra_key = "v2";
    CHECK(compute_run_key(keyed, env).hex != base);
}

TEST_CASE("watched files and directories are hashed by contents", "[run][key]") {
    test::TempDir tmp;
    const auto dir = tmp.path() / "src";
    std::filesystem::create_directories(dir / "nested");
    write(dir / "a.txt", "one");
    write(dir / "nested" / "b.txt", "two");
    RunSpec spec{{"make"}, "/w", {}, {dir.string()}, std::nullopt};
    const auto key = [&] { return compute_run_key(spec).hex; };

    const std::string first = key();
    CHECK(key() == first);
    write(dir / "nested" / "b.txt", "TWO");
    const std::string changed = key();
    CHECK(changed != first);
    write(dir / "nested" / "b.txt", "two");
    CHECK(key() == first); // contents, not timestamps
    write(dir / "nested" / "c.txt", "");
    CHECK(key() != first);
    std::filesystem::remove(dir / "nested" / "c.txt");
    std::filesystem::rename(dir / "a.txt", dir / "z.txt");
    CHECK(key() != first); // names count
    std::filesystem::rename(dir / "z.txt", dir / "a.txt");
    CHECK(key() == first);

    RunSpec missing{{"make"}, "/w", {}, {(tmp.path() / "nope").string()}, std::nullopt};
    const auto missing_key = compute_run_key(missing);
    CHECK(missing_key.parts.back().description == "missing");
    write(tmp.path() / "nope", "");
    CHECK(compute_run_key(missing).hex != missing_key.hex);
}

TEST_CASE("one leader per flight; followers get its result", "[run][flight]") {
    test::TempDir tmp;
    const std::string dir = (tmp.path() / "flights").string();
    Flight leader = Flight::join(dir, "k");
    CHECK(leader.role() == Flight::Role::leader);
    CHECK_FALSE(Flight::try_lead(dir, "k"));
    CHECK(Flight::try_lead(dir, "other")); // other keys are independent

    auto follower = std::async(std::launch::async, [&] { return Flight::join(dir, "k"); });
    CHECK(follower.wait_for(std::chrono::milliseconds(200)) == std::future_status::timeout);
    leader.publish("result bytes");
    const Flight joined = follower.get();
    CHECK(joined.role() == Flight::Role::follower);
    CHECK(joined.result() == "result bytes");
    // Once published, the next caller leads a new flight.
    CHECK(Flight::join(dir, "k").role() == Flight::Role::leader);
}

TEST_CASE("a leader that leaves without a result hands the lead on", "[run][flight]") {
    test::TempDir tmp;
    const std::string dir = (tmp.path() / "flights").string();
    auto leader = std::make_unique<Flight>(Flight::join(dir, "k"));
    auto next = std::async(std::launch::async, [&] { return Flight::join(dir, "k"); });
    CHECK(next.wait_for(std::chrono::milliseconds(100)) == std::future_status::timeout);
    leader.reset();
    CHECK(next.get().role() == Flight::Role::leader);
}

TEST_CASE("the memoizer executes once, then replays", "[run][memo]") {
    test::TempDir tmp;
    Store store = Store::open_in_memory();
    Memoizer memoizer(store, (tmp.path() / "flights").string());
    const auto counter = tmp.path() / "count";
    RunRequest request;
    request.spec.argv = {
        "sh", "-c", "echo x >> '" + counter.string() + "'; printf out; printf err >&2; exit 0"};
    request.spec.cwd = tmp.path().string();
    std::string out;
    std::string err;
    const auto run = [&] {
        out.clear();
        err.clear();
        return memoizer.run(
            request, [&](std::string_view s) { out += s; }, [&](std::string_view s) { err += s; },
            [] {});
    };
    CHECK(run().source == RunSource::executed);
    CHECK(run().source == RunSource::hit);
    CHECK(out == "out");
    CHECK(err == "err");
    std::ifstream in(counter);
    const std::string runs{std::istreambuf_iterator<char>(in), {}};
    CHECK(runs == "x\n");
    CHECK(memoizer.explain(request).record.has_value());

    request.spec.argv = {"sh", "-c", "exit 4"};
    CHECK(run().exit_code == 4);
    CHECK_FALSE(memoizer.explain(request).record); // failures are not stored by default
    request.cache_failures = true;
    run();
    CHECK(memoizer.explain(request).record->exit_code == 4);

    request.spec.argv = {"/nonexistent/command"};
    CHECK_THROWS_AS(run(), SpawnError);
}
