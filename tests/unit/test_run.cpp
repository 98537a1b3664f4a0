#include "FakeEnv.hpp"
#include "TempDir.hpp"
#include "base/Error.hpp"
#include "base/Posix.hpp"
#include "engine/sqlite/FlockFlight.hpp"
#include "run/Memoizer.hpp"
#include "run/RunKey.hpp"
#include "run/RunRecord.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <utility>
#include <vector>

using namespace cacheman;

namespace {

void write(const std::filesystem::path& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

// Single flight scripted by the test: the next join leads, or follows a leader that published
// `leader_result`. Records what the memoizer publishes.
class FakeFlights final : public engine::Flights {
  public:
    std::optional<std::string> leader_result; // set: the next join follows with this result
    bool someone_leads = false;               // try_lead finds another leader
    std::vector<std::string> joined;
    std::vector<std::string> published;

    std::unique_ptr<engine::Flight> join(const std::string& key) override {
        joined.push_back(key);
        auto flight = std::make_unique<Flight>(*this);
        if (leader_result) {
            flight->m_role = Flight::Role::follower;
            flight->m_result = *std::exchange(leader_result, std::nullopt);
        }
        return flight;
    }
    std::unique_ptr<engine::Flight> try_lead(const std::string& key) override {
        joined.push_back(key);
        return someone_leads ? nullptr : std::make_unique<Flight>(*this);
    }

  private:
    class Flight final : public engine::Flight {
      public:
        explicit Flight(FakeFlights& owner) : m_owner(owner) {}
        [[nodiscard]] Role role() const override { return m_role; }
        [[nodiscard]] const std::string& result() const override { return m_result; }
        void publish(std::string_view bytes) override { m_owner.published.emplace_back(bytes); }

        FakeFlights& m_owner;
        Role m_role = Role::leader;
        std::string m_result;
    };
};

// Results in a map, on a clock the test moves.
class FakeResults final : public ResultStore {
  public:
    std::map<std::pair<std::string, std::string>, engine::Entry> entries;
    FakeFlights fake_flights;
    double clock = 1'700'000'000.0;
    int lookups = 0;
    int stores = 0;
    std::optional<std::string> store_fails; // throw StoreError with this message

    std::optional<engine::Entry> lookup(const std::string& cache, const std::string& key) override {
        ++lookups;
        const auto found = entries.find({cache, key});
        if (found == entries.end() || (found->second.expires && *found->second.expires <= clock)) {
            return std::nullopt;
        }
        return found->second;
    }
    bool store(const std::string& cache, const std::string& key, std::string_view value,
               const std::vector<std::string>& /*contents*/, std::optional<Duration> ttl,
               const engine::Generation& seen) override {
        if (seen != generations[cache]) {
            return false;
        }
        ++stores;
        if (store_fails) {
            throw StoreError(*store_fails);
        }
        std::optional<double> expires;
        if (ttl) {
            expires = clock + static_cast<double>(ttl->count()) / 1000.0;
        }
        entries[{cache, key}] = engine::Entry{std::string(value), expires};
        return true;
    }
    engine::Generation generation(const std::string& cache) override { return generations[cache]; }
    std::map<std::string, engine::Generation> generations;
    engine::Flights& flights() override { return fake_flights; }
    // Contents by address, as the store keeps them.
    std::map<std::string, std::string> contents;
    void put_content(const std::string& digest, int fd, std::uint64_t /*size*/) override {
        ::lseek(fd, 0, SEEK_SET);
        std::string bytes;
        read_to_end(fd, [&](std::string_view chunk) { bytes += chunk; });
        contents[digest] = bytes;
    }
    bool read_content(const std::string& digest,
                      const std::function<void(std::string_view)>& sink) override {
        const auto found = contents.find(digest);
        if (found == contents.end()) {
            return false;
        }
        sink(found->second);
        return true;
    }
    double now() override { return clock; }
};

// Runs requests through a Memoizer over FakeResults, collecting their output.
struct MemoFixture {
    test::TempDir tmp;
    FakeResults results;
    Memoizer memoizer{results};
    std::string out;
    std::string err;
    int refreshes = 0;

    RunOutcome run(const RunRequest& request) {
        out.clear();
        err.clear();
        return memoizer.run(
            request, [&](std::string_view s) { out += s; }, [&](std::string_view s) { err += s; },
            [&] { ++refreshes; });
    }
    // A command that counts its executions in a file, prints "out" and "err", exits `code`.
    RunRequest counting(int code = 0) {
        RunRequest request;
        request.spec.argv = {"sh", "-c",
                             "echo x >> '" + (tmp.path() / "count").string() +
                                 "'; printf out; printf err >&2; exit " + std::to_string(code)};
        request.spec.cwd = tmp.path().string();
        return request;
    }
    // A command that counts its executions and prints `rounds` times 300 KB on stdout, then a
    // line on stderr: more than a record holds, in interleaved chunks.
    RunRequest loud(int rounds, int code = 0) {
        RunRequest request = counting(code);
        request.spec.argv[2] = "echo x >> '" + (tmp.path() / "count").string() +
                               "'; i=0; while [ $i -lt " + std::to_string(rounds) +
                               " ]; do head -c 300000 /dev/zero | tr '\\0' o; echo \"e$i\" >&2; "
                               "i=$((i+1)); done; exit " +
                               std::to_string(code);
        return request;
    }
    std::string executions() const { return read_file(tmp.path() / "count"); }
    std::string key_of(const RunRequest& request) const {
        return compute_run_key(request.spec).hex;
    }
};

} // namespace

RunRecord record_of(int exit_code, double duration, double created_at, std::string_view out,
                    std::string_view err) {
    RunRecord record{exit_code, duration, created_at, {}, {}, std::nullopt, 0};
    record.append(Stream::out, out);
    record.append(Stream::err, err);
    return record;
}

TEST_CASE("run records round-trip and refuse anything else", "[run]") {
    RunRecord record = record_of(3, 1.25, 1700000000.5, std::string("out\0put", 7), "err");
    record.append(Stream::out, "more");
    record.append(Stream::out, " out");
    const auto decoded = decode_run_record(encode(record));
    REQUIRE(decoded);
    CHECK(decoded->exit_code == 3);
    CHECK(decoded->duration == 1.25);
    CHECK(decoded->created_at == 1700000000.5);
    // In arrival order, adjacent writes to one stream merged.
    CHECK(decoded->chunks == std::vector<Chunk>{{Stream::out, std::string("out\0put", 7)},
                                                {Stream::err, "err"},
                                                {Stream::out, "more out"}});
    CHECK(decoded->bytes_of(Stream::out) == std::string("out\0putmore out", 15));
    CHECK(decoded->bytes_of(Stream::err) == "err");
    const std::string bytes = encode(record);
    CHECK_FALSE(decode_run_record(bytes.substr(0, bytes.size() - 1)));
    CHECK_FALSE(decode_run_record(bytes + "x"));
    CHECK_FALSE(decode_run_record("plain value"));
    CHECK_FALSE(decode_run_record(""));
}

TEST_CASE("a version 1 run record decodes as stdout then stderr", "[run]") {
    std::string v1("cacheman-run\x01", 13);
    const auto put = [&v1](const auto& value) {
        v1.append(reinterpret_cast<const char*>(&value), sizeof value);
    };
    put(std::int32_t{2});
    put(0.5);
    put(1700000000.0);
    put(std::uint64_t{3});
    v1 += "out";
    put(std::uint64_t{0});
    const auto decoded = decode_run_record(v1);
    REQUIRE(decoded);
    CHECK(decoded->exit_code == 2);
    CHECK(decoded->chunks == std::vector<Chunk>{{Stream::out, "out"}});
}

TEST_CASE("the run key covers argv, cwd, env and --key", "[run][key]") {
    const auto env = test::fake_env({{"A", "1"}, {"EMPTY", ""}});
    RunSpec spec{{"echo", "a b"}, "/w", {}, {}, {}, std::nullopt, std::nullopt, {}};
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
    CHECK(compute_run_key(with_env, test::fake_env({{"A", "2"}})).hex != a1);
    with_env.env_names = {"EMPTY"};
    const std::string empty = compute_run_key(with_env, env).hex;
    with_env.env_names = {"UNSET"};
    CHECK(compute_run_key(with_env, env).hex != empty);

    RunSpec keyed = spec;
    keyed.extra_keys = {"v2"};
    const std::string v2 = compute_run_key(keyed, env).hex;
    CHECK(v2 != base);
    keyed.extra_keys = {"v2", "x"};
    const std::string v2x = compute_run_key(keyed, env).hex;
    CHECK(v2x != v2);
    keyed.extra_keys = {"x", "v2"};
    CHECK(compute_run_key(keyed, env).hex != v2x); // order matters
    keyed.extra_keys = {"v2x"};
    CHECK(compute_run_key(keyed, env).hex != v2x); // fields are delimited

    RunSpec with_stdin = spec;
    with_stdin.stdin = InputSummary{3, "0123456789abcdef0123456789abcdef"};
    CHECK(compute_run_key(with_stdin, env).hex != base);
    CHECK(compute_run_key(spec, env).parts.back().description ==
          "not part of the key (--stdin makes it one)");
}

TEST_CASE("under --root, the working directory and watched paths enter the key relative to it",
          "[run][key]") {
    CHECK(relative_to_root("/w/a/b", "/w/a/b", "/w", "cwd") == "a/b");
    CHECK(relative_to_root("/w", "/w", "/w", "cwd") == ".");
    CHECK(relative_to_root("src/../lib/", "/w/a", "/w", "watch") == "a/lib");
    CHECK(relative_to_root("/w/x", "/elsewhere", "/w", "watch") == "x");
    CHECK_THROWS_AS(relative_to_root("/w2", "/w2", "/w", "cwd"), UsageError);
    CHECK_THROWS_AS(relative_to_root("../x", "/w", "/w", "watch"), UsageError);
    CHECK_THROWS_AS(relative_to_root("/etc", "/w", "/w", "watch"), UsageError);

    const auto env = test::fake_env({});
    RunSpec here{{"make"},     "/home/runner/work/x/sub",          {}, {}, {},
                 std::nullopt, std::string("/home/runner/work/x"), {}};
    RunSpec there = here;
    there.cwd = "/builds/x/sub";
    there.root = "/builds/x";
    CHECK(compute_run_key(here, env).hex == compute_run_key(there, env).hex); // two checkouts
    there.cwd = "/builds/x";
    CHECK(compute_run_key(here, env).hex != compute_run_key(there, env).hex);
    RunSpec no_root = here;
    no_root.root.reset();
    CHECK(compute_run_key(here, env).hex != compute_run_key(no_root, env).hex);
}

TEST_CASE("watched files and directories are hashed by contents", "[run][key]") {
    test::TempDir tmp;
    const auto dir = tmp.path() / "src";
    std::filesystem::create_directories(dir / "nested");
    write(dir / "a.txt", "one");
    write(dir / "nested" / "b.txt", "two");
    RunSpec spec{{"make"}, "/w", {}, {dir.string()}, {}, std::nullopt, std::nullopt, {}};
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

    RunSpec missing{{"make"}, "/w",         {},           {(tmp.path() / "nope").string()},
                    {},       std::nullopt, std::nullopt, {}};
    const auto missing_key = compute_run_key(missing);
    CHECK(missing_key.parts.at(2).description == "missing"); // argv, cwd, then the watch
    write(tmp.path() / "nope", "");
    CHECK(compute_run_key(missing).hex != missing_key.hex);
}

// --- single flight on lock files -----------------------------------------------------------------

TEST_CASE("flock flights: one leader per key; followers get its result", "[run][flight]") {
    test::TempDir tmp;
    sqlite::FlockFlights flights((tmp.path() / "flights").string());
    auto leader = flights.join("k");
    REQUIRE(leader);
    CHECK(leader->role() == engine::Flight::Role::leader);
    CHECK(std::filesystem::status(tmp.path() / "flights").permissions() ==
          std::filesystem::perms::owner_all);
    CHECK_FALSE(flights.try_lead("k"));
    CHECK(flights.try_lead("other")); // other keys are independent

    auto follower = std::async(std::launch::async, [&] { return flights.join("k"); });
    CHECK(follower.wait_for(std::chrono::milliseconds(200)) == std::future_status::timeout);
    leader->publish("result bytes");
    const auto joined = follower.get();
    CHECK(joined->role() == engine::Flight::Role::follower);
    CHECK(joined->result() == "result bytes");
    // Once published, the next caller leads a new flight.
    CHECK(flights.join("k")->role() == engine::Flight::Role::leader);
    CHECK(flights.try_lead("k"));
}

TEST_CASE("flock flights: a leader that leaves without a result hands the lead on",
          "[run][flight]") {
    test::TempDir tmp;
    sqlite::FlockFlights flights((tmp.path() / "flights").string());
    auto leader = flights.join("k");
    auto next = std::async(std::launch::async, [&] { return flights.join("k"); });
    CHECK(next.wait_for(std::chrono::milliseconds(100)) == std::future_status::timeout);
    leader.reset();
    CHECK(next.get()->role() == engine::Flight::Role::leader);
}

TEST_CASE("flock flights: a directory that cannot be created is a store error", "[run][flight]") {
    test::TempDir tmp;
    write(tmp.path() / "file", "x");
    sqlite::FlockFlights flights((tmp.path() / "file" / "flights").string());
    CHECK_THROWS_AS(flights.join("k"), StoreError);
    CHECK_THROWS_AS(flights.try_lead("k"), StoreError);
}

// --- the memoizer --------------------------------------------------------------------------------

TEST_CASE("the memoizer executes once, then replays", "[run][memo]") {
    MemoFixture f;
    const RunRequest request = f.counting();
    const auto first = f.run(request);
    CHECK(first.source == RunSource::executed);
    CHECK(first.exit_code == 0);
    CHECK(f.out == "out");
    CHECK(f.err == "err");
    CHECK(f.results.stores == 1);
    // The leader stored its result, so it published only that: its followers read the store.
    const auto stored = f.results.entries.at({"run", f.key_of(request)});
    REQUIRE(f.results.fake_flights.published.size() == 1);
    CHECK(f.results.fake_flights.published[0].size() < 32);
    CHECK_FALSE(decode_run_record(f.results.fake_flights.published[0]));
    CHECK_FALSE(stored.expires);
    const auto record = decode_run_record(stored.value);
    REQUIRE(record);
    CHECK(record->bytes_of(Stream::out) == "out");
    CHECK(record->bytes_of(Stream::err) == "err");
    CHECK(record->created_at == f.results.clock);

    const auto second = f.run(request);
    CHECK(second.source == RunSource::hit);
    CHECK(second.exit_code == 0);
    CHECK(f.out == "out");
    CHECK(f.err == "err");
    CHECK(f.executions() == "x\n");
    CHECK(f.results.stores == 1);
    CHECK(f.results.fake_flights.joined.size() == 1); // a hit joins no flight
    CHECK(f.memoizer.explain(request).record.has_value());
    CHECK(f.memoizer.explain(request).key.hex == f.key_of(request));
}

TEST_CASE("the memoizer stores failures only when asked", "[run][memo]") {
    MemoFixture f;
    RunRequest request = f.counting(4);
    CHECK(f.run(request).exit_code == 4);
    CHECK(f.results.stores == 0);
    CHECK_FALSE(f.memoizer.explain(request).record); // failures are not stored by default
    // But waiters still get the result: the whole record, in the flight.
    REQUIRE(f.results.fake_flights.published.size() == 1);
    CHECK(decode_run_record(f.results.fake_flights.published[0])->exit_code == 4);
    CHECK(f.run(request).source == RunSource::executed);

    request.cache_failures = true;
    CHECK(f.run(request).source == RunSource::executed);
    CHECK(f.memoizer.explain(request).record->exit_code == 4);
    const auto replayed = f.run(request);
    CHECK(replayed.source == RunSource::hit);
    CHECK(replayed.exit_code == 4);
    CHECK(f.executions() == "x\nx\nx\n");

    RunRequest missing;
    missing.spec.argv = {"/nonexistent/command"};
    missing.spec.cwd = f.tmp.path().string();
    CHECK_THROWS_AS(f.run(missing), SpawnError);
    CHECK(f.results.stores == 1); // nothing stored for it
}

TEST_CASE("the memoizer: ttl, force, and an entry that is not a run record", "[run][memo]") {
    MemoFixture f;
    RunRequest request = f.counting();
    request.ttl = std::chrono::seconds(10);
    f.run(request);
    CHECK(f.memoizer.explain(request).expires == f.results.clock + 10);
    f.results.clock += 10; // expired: executes again
    CHECK(f.run(request).source == RunSource::executed);

    request.force = true; // executes even on a hit, and overwrites
    CHECK(f.run(request).source == RunSource::executed);
    CHECK(f.executions() == "x\nx\nx\n");
    CHECK(f.results.stores == 3);

    request.force = false;
    f.results.entries[{"run", f.key_of(request)}] = engine::Entry{"set by hand", std::nullopt};
    CHECK_FALSE(f.memoizer.explain(request).record);
    CHECK(f.run(request).source == RunSource::executed); // a miss, overwritten
    CHECK(decode_run_record(f.results.entries.at({"run", f.key_of(request)}).value));

    request.cache = "elsewhere"; // another cache: another entry
    CHECK(f.run(request).source == RunSource::executed);
    CHECK(f.results.entries.count({"elsewhere", f.key_of(request)}) == 1);
}

TEST_CASE("the memoizer replays a stale entry and starts a refresh", "[run][memo][stale]") {
    MemoFixture f;
    RunRequest request = f.counting();
    request.stale = std::chrono::seconds(60);
    f.run(request);
    f.results.clock += 59;
    CHECK(f.run(request).source == RunSource::hit);
    CHECK(f.refreshes == 0);
    f.results.clock += 1;
    CHECK(f.run(request).source == RunSource::stale_hit);
    CHECK(f.out == "out");
    CHECK(f.refreshes == 1);
    CHECK(f.executions() == "x\n");

    // The background refresh leads and executes; a second one finds it fresh and skips.
    RunRequest refresh = request;
    refresh.refresh = true;
    CHECK(f.run(refresh).source == RunSource::executed);
    CHECK(f.run(refresh).source == RunSource::skipped);
    f.results.clock += 60;
    f.results.fake_flights.someone_leads = true; // another process refreshes it
    CHECK(f.run(refresh).source == RunSource::skipped);
    CHECK(f.executions() == "x\nx\n");
}

TEST_CASE("the memoizer replays the result of the leader it waited for", "[run][memo][flight]") {
    MemoFixture f;
    const RunRequest request = f.counting();
    RunRecord record = record_of(3, 0.5, f.results.clock, "leader's out", "leader's err");
    f.results.fake_flights.leader_result = encode(record);
    const auto outcome = f.run(request);
    CHECK(outcome.source == RunSource::waited);
    CHECK(outcome.exit_code == 3);
    CHECK(f.out == "leader's out");
    CHECK(f.err == "leader's err");
    CHECK(f.executions().empty());
    CHECK(f.results.stores == 0); // the leader stored it
}

TEST_CASE("the memoizer reports a result it could not store as a warning", "[run][memo]") {
    MemoFixture f;
    const RunRequest request = f.counting();
    f.results.store_fails = "disk full";
    const auto outcome = f.run(request);
    CHECK(outcome.source == RunSource::executed);
    CHECK(outcome.exit_code == 0);
    CHECK(f.out == "out");
    CHECK_THAT(outcome.warning, Catch::Contains("not stored") && Catch::Contains("disk full"));
    REQUIRE(f.results.fake_flights.published.size() == 1); // waiters still get it, whole
    CHECK(decode_run_record(f.results.fake_flights.published[0]));
}

TEST_CASE("a follower of a leader that stored its result replays it from the store",
          "[run][memo][flight]") {
    MemoFixture f;
    RunRequest request = f.counting(5);
    request.cache_failures = true;
    f.run(request); // lead, store, publish the marker
    const std::string marker = f.results.fake_flights.published.at(0);
    RunRequest follower = request;
    follower.cache_failures = false; // replays what it waited for, whatever the status
    follower.force = true;           // skip the first lookup: straight to the flight
    f.results.fake_flights.leader_result = marker;
    f.out.clear();
    const auto outcome = f.run(follower);
    CHECK(outcome.source == RunSource::waited);
    CHECK(outcome.exit_code == 5);
    CHECK(f.out == "out");
    CHECK(f.executions() == "x\n"); // the leader's execution only

    // The stored result was cleared before the follower read it: it joins again, and leads.
    f.results.entries.clear();
    f.results.fake_flights.leader_result = marker;
    CHECK(f.run(follower).source == RunSource::executed);
    CHECK(f.executions() == "x\nx\n");
}

TEST_CASE("run record: outputs' manifests survive encoding, and damaged ones are refused") {
    RunRecord record = record_of(0, 0.5, 1'700'000'000.0, "out", "err");
    outputs::Manifest tree{"build", {}};
    tree.nodes.push_back({"", outputs::Kind::directory, false, 0, "", "", ""});
    tree.nodes.push_back({"bin", outputs::Kind::file, true, 3, std::string(32, 'a'), "", "1:2:3"});
    tree.nodes.push_back({"link", outputs::Kind::symlink, false, 0, "", "../elsewhere", ""});
    record.outputs.push_back(tree);
    record.outputs.push_back(
        {"a.out", {{"", outputs::Kind::file, false, 3, std::string(32, 'a'), "", ""}}});
    const std::string encoded = encode(record);
    const auto decoded = decode_run_record(encoded);
    REQUIRE(decoded);
    CHECK(decoded->outputs == record.outputs);
    CHECK(decoded->content_digests() == std::vector<std::string>{std::string(32, 'a')});
    for (std::size_t cut = 1; cut < 40; ++cut) {
        CHECK_FALSE(decode_run_record(std::string_view(encoded).substr(0, encoded.size() - cut)));
    }
}

TEST_CASE("chunk logs read back the same in pieces of any size", "[run]") {
    RunRecord small = record_of(0, 0, 0, "", "");
    StreamRecorder recorder(small);
    for (int i = 0; i < 8; ++i) {
        recorder.append(Stream::out, std::string(300'000, static_cast<char>('a' + i)));
        recorder.append(Stream::err, std::string(1, 'e').append(std::to_string(i)));
    }
    Spool* spool = recorder.spilled();
    REQUIRE(spool != nullptr);
    CHECK(small.chunks.empty()); // moved to the spool
    std::string log;
    read_to_end(spool->file(), [&](std::string_view piece) { log += piece; });
    CHECK(log.size() == spool->size());
    for (const std::size_t piece : {std::size_t{1}, std::size_t{7}, std::size_t{9},
                                    std::size_t{4096}, log.size()}) {
        std::string out;
        std::string err;
        std::string order;
        ChunkLogReader reader([&](Stream stream, std::string_view bytes) {
            (stream == Stream::out ? out : err) += bytes;
            if (order.empty() || order.back() != (stream == Stream::out ? 'o' : 'e')) {
                order += stream == Stream::out ? 'o' : 'e';
            }
        });
        bool fed = true;
        for (std::size_t at = 0; at < log.size(); at += piece) {
            fed = reader.feed(std::string_view(log).substr(at, piece)) && fed;
        }
        CHECK(fed);
        CHECK(reader.complete());
        CHECK(out.size() == 8 * 300'000);
        CHECK(out.substr(300'000 * 7, 3) == "hhh");
        CHECK(err == "e0e1e2e3e4e5e6e7");
        CHECK(order == "oeoeoeoeoeoeoeoe");
    }
    ChunkLogReader cut([](Stream, std::string_view) {});
    CHECK(cut.feed(std::string_view(log).substr(0, 100)));
    CHECK_FALSE(cut.complete());
    ChunkLogReader unknown([](Stream, std::string_view) {});
    CHECK_FALSE(unknown.feed(std::string(9, '\x07')));
}

TEST_CASE("streams larger than a record are kept as a content, replayed in order",
          "[run][memo]") {
    MemoFixture f;
    const RunRequest request = f.loud(5);
    const auto first = f.run(request);
    CHECK(first.source == RunSource::executed);
    CHECK(first.warning.empty());
    CHECK(f.out.size() == 5 * 300'000);
    CHECK(f.err == "e0\ne1\ne2\ne3\ne4\n");
    const auto record = decode_run_record(f.results.entries.at({"run", f.key_of(request)}).value);
    REQUIRE(record);
    REQUIRE(record->streams_content);
    CHECK(record->chunks.empty());
    CHECK(record->streams_bytes() > 5 * 300'000);
    CHECK(f.results.contents.count(*record->streams_content) == 1);
    CHECK(record->content_digests() == std::vector<std::string>{*record->streams_content});

    std::string order;
    Memoizer memoizer(f.results);
    const auto hit = memoizer.run(
        request,
        [&](std::string_view) {
            if (order.empty() || order.back() != 'o') {
                order += 'o';
            }
        },
        [&](std::string_view) { order += 'e'; }, [] {});
    CHECK(hit.source == RunSource::hit);
    CHECK(order == "oeoeoeoeoe");
    CHECK(f.executions() == "x\n");

    // Damaged or gone: an error, never a silent short replay.
    f.results.contents[*record->streams_content].resize(1000);
    CHECK_THROWS_AS(f.run(request), StoreError);
    f.results.contents.clear();
    CHECK_THROWS_AS(f.run(request), StoreError);
}

TEST_CASE("large streams of a result that is not stored reach the waiters through the store",
          "[run][memo][flight]") {
    MemoFixture f;
    const RunRequest request = f.loud(4, 3); // a failure: not stored
    CHECK(f.run(request).exit_code == 3);
    CHECK(f.results.stores == 0);
    REQUIRE(f.results.fake_flights.published.size() == 1);
    const std::string published = f.results.fake_flights.published[0];
    CHECK(published.size() < 1000); // not the streams themselves
    const auto record = decode_run_record(published);
    REQUIRE(record);
    REQUIRE(record->streams_content);

    RunRequest follower = request;
    follower.force = true;
    f.results.fake_flights.leader_result = published;
    const auto waited = f.run(follower);
    CHECK(waited.source == RunSource::waited);
    CHECK(waited.exit_code == 3);
    CHECK(f.out.size() == 4 * 300'000);
    CHECK(f.err == "e0\ne1\ne2\ne3\n");
    CHECK(f.executions() == "x\n");
}

TEST_CASE("run record: streams kept as a content survive encoding", "[run]") {
    RunRecord record = record_of(0, 0.5, 1'700'000'000.0, "", "");
    record.streams_content = std::string(32, 'b');
    record.streams_size = 12345;
    const std::string encoded = encode(record);
    const auto decoded = decode_run_record(encoded);
    REQUIRE(decoded);
    CHECK(decoded->streams_content == record.streams_content);
    CHECK(decoded->streams_size == 12345);
    CHECK(decoded->streams_bytes() == 12345);
    for (std::size_t cut = 1; cut < 40; ++cut) {
        CHECK_FALSE(decode_run_record(std::string_view(encoded).substr(0, encoded.size() - cut)));
    }
}
