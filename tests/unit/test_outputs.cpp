// Recording and restoring the outputs of a step (core/outputs/Tree): trees as they were, files
// that match left alone, nothing written outside the declared path.
#include "TempDir.hpp"
#include "base/Error.hpp"
#include "outputs/Tree.hpp"

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <sys/stat.h>
#include <unistd.h>

using namespace cacheman;
using outputs::Kind;
using outputs::Manifest;
namespace fs = std::filesystem;

namespace {

// Contents in memory, counting what was kept.
class MapContents final : public outputs::Contents {
  public:
    std::map<std::string, std::string> bytes;
    int puts = 0;

    void put(const std::string& digest, int fd, std::uint64_t size) override {
        ++puts;
        std::string data(size, '\0');
        REQUIRE(::read(fd, data.data(), size) == static_cast<ssize_t>(size));
        bytes.emplace(digest, std::move(data));
    }
    void get(const std::string& digest, int fd) override {
        const auto found = bytes.find(digest);
        if (found == bytes.end()) {
            throw StoreError("no contents " + digest);
        }
        REQUIRE(::write(fd, found->second.data(), found->second.size()) ==
                static_cast<ssize_t>(found->second.size()));
    }
};

void write(const fs::path& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

std::string read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

struct timespec mtime_of(const fs::path& path) {
    struct stat info {};
    REQUIRE(::lstat(path.c_str(), &info) == 0);
    return info.st_mtim;
}

void set_old_mtime(const fs::path& path) {
    const struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
    REQUIRE(::utimensat(AT_FDCWD, path.c_str(), old, AT_SYMLINK_NOFOLLOW) == 0);
}

// What a manifest says of the tree, without the stamps (which a rewrite of a file changes).
std::optional<Manifest> unstamped(std::optional<Manifest> manifest) {
    if (manifest) {
        for (auto& node : manifest->nodes) {
            node.stamp.clear();
        }
    }
    return manifest;
}

// A tree with a bit of everything: nested files, an executable, an empty directory, a link.
void make_tree(const fs::path& root) {
    fs::create_directories(root / "sub" / "deeper");
    fs::create_directories(root / "empty");
    write(root / "a.txt", "alpha");
    write(root / "same.txt", "alpha");
    write(root / "sub" / "b.bin", std::string("b\0b", 3));
    write(root / "sub" / "deeper" / "tool", "#!/bin/sh\n");
    fs::permissions(root / "sub" / "deeper" / "tool", fs::perms::owner_exec, fs::perm_options::add);
    fs::create_symlink("../a.txt", root / "sub" / "link");
}

} // namespace

TEST_CASE("outputs: a directory is recorded whole, contents stored once per content",
          "[outputs]") {
    test::TempDir tmp;
    make_tree(tmp.path() / "out");
    MapContents contents;
    const auto manifest = outputs::record(tmp.path().string(), "out", contents);
    REQUIRE(manifest);
    std::vector<std::string> paths;
    for (const auto& node : manifest->nodes) {
        paths.push_back(node.path);
    }
    CHECK(paths == std::vector<std::string>{"", "a.txt", "empty", "same.txt", "sub", "sub/b.bin",
                                            "sub/deeper", "sub/deeper/tool", "sub/link"});
    CHECK(manifest->nodes[0].kind == Kind::directory);
    CHECK(manifest->nodes[1].digest == manifest->nodes[3].digest);
    CHECK(contents.bytes.size() == 3); // alpha, b\0b, the script
    CHECK(manifest->nodes[7].executable);
    CHECK_FALSE(manifest->nodes[1].executable);
    CHECK(manifest->nodes[8].kind == Kind::symlink);
    CHECK(manifest->nodes[8].target == "../a.txt");
    CHECK(manifest->bytes() == 5 + 5 + 3 + 10);
    CHECK_NOTHROW(outputs::validate(*manifest));
    CHECK_FALSE(outputs::record(tmp.path().string(), "missing", contents));
}

TEST_CASE("outputs: a restore makes the tree match, leaving matching files untouched",
          "[outputs]") {
    test::TempDir tmp;
    const fs::path out = tmp.path() / "out";
    make_tree(out);
    MapContents contents;
    const auto manifest = outputs::record(tmp.path().string(), "out", contents);
    REQUIRE(manifest);

    SECTION("into nothing") {
        fs::remove_all(out);
        outputs::restore(tmp.path().string(), *manifest, contents);
    }
    SECTION("over a changed tree") {
        set_old_mtime(out / "a.txt");
        const auto untouched = mtime_of(out / "a.txt");
        write(out / "sub" / "b.bin", "changed");
        write(out / "extra.txt", "not recorded");
        fs::create_directories(out / "extra-dir" / "inner");
        write(out / "extra-dir" / "inner" / "f", "x");
        fs::remove_all(out / "empty");
        write(out / "empty", "a file where a directory was");
        fs::remove(out / "sub" / "link");
        fs::create_directories(out / "sub" / "link"); // a directory where a link was
        fs::permissions(out / "sub" / "deeper" / "tool", fs::perms::owner_exec,
                        fs::perm_options::remove);
        outputs::restore(tmp.path().string(), *manifest, contents);
        CHECK(mtime_of(out / "a.txt").tv_sec == untouched.tv_sec); // bytes matched: untouched
        CHECK_FALSE(fs::exists(out / "extra.txt"));
        CHECK_FALSE(fs::exists(out / "extra-dir"));
    }
    MapContents again;
    CHECK(unstamped(outputs::record(tmp.path().string(), "out", again)) == unstamped(manifest));
    CHECK(read(out / "sub" / "b.bin") == std::string("b\0b", 3));
    CHECK(fs::is_symlink(out / "sub" / "link"));
}

TEST_CASE("outputs: a file output is restored with its executable bit", "[outputs]") {
    test::TempDir tmp;
    write(tmp.path() / "a.out", "binary");
    fs::permissions(tmp.path() / "a.out", fs::perms::owner_exec, fs::perm_options::add);
    MapContents contents;
    const auto manifest = outputs::record(tmp.path().string(), "a.out", contents);
    REQUIRE(manifest);
    REQUIRE(manifest->nodes.size() == 1);
    fs::remove(tmp.path() / "a.out");
    fs::create_directories(tmp.path() / "a.out" / "in the way");
    outputs::restore(tmp.path().string(), *manifest, contents);
    CHECK(read(tmp.path() / "a.out") == "binary");
    CHECK((fs::status(tmp.path() / "a.out").permissions() & fs::perms::owner_exec) !=
          fs::perms::none);
    // A missing parent is made again (the user's own path to the output).
    const auto nested = outputs::record(tmp.path().string(), (tmp.path() / "a.out").string(),
                                        contents);
    REQUIRE(nested);
    Manifest elsewhere = *nested;
    elsewhere.declared = (tmp.path() / "build" / "bin" / "a.out").string();
    outputs::restore("/", elsewhere, contents);
    CHECK(read(tmp.path() / "build" / "bin" / "a.out") == "binary");
}

TEST_CASE("outputs: a symbolic link in the way is replaced, never written through",
          "[outputs]") {
    test::TempDir tmp;
    const fs::path out = tmp.path() / "out";
    const fs::path outside = tmp.path() / "outside";
    fs::create_directories(out / "sub");
    write(out / "sub" / "f", "recorded");
    fs::create_directories(outside);
    MapContents contents;
    const auto manifest = outputs::record(tmp.path().string(), "out", contents);
    REQUIRE(manifest);

    fs::remove_all(out / "sub");
    fs::create_directory_symlink(outside, out / "sub"); // a link where a directory was
    outputs::restore(tmp.path().string(), *manifest, contents);
    CHECK_FALSE(fs::exists(outside / "f"));
    CHECK_FALSE(fs::is_symlink(out / "sub"));
    CHECK(read(out / "sub" / "f") == "recorded");

    fs::remove_all(out);
    fs::create_directory_symlink(outside, out); // the output itself is a link
    outputs::restore(tmp.path().string(), *manifest, contents);
    CHECK(fs::is_empty(outside));
    CHECK(read(out / "sub" / "f") == "recorded");
}

TEST_CASE("outputs: a tampered record is refused before anything is written", "[outputs]") {
    test::TempDir tmp;
    fs::create_directories(tmp.path() / "out");
    write(tmp.path() / "out" / "f", "x");
    MapContents contents;
    const auto manifest = outputs::record(tmp.path().string(), "out", contents);
    REQUIRE(manifest);
    const auto tampered = [&](const std::string& path) {
        Manifest bad = *manifest;
        bad.nodes[1].path = path;
        return bad;
    };
    for (const std::string& bad : std::vector<std::string>{"../escape", "/etc/passwd", "a/../../x", "./f", "a//b", "",
                                  std::string("f\0x", 3), "missing-parent/f"}) {
        INFO(bad);
        CHECK_THROWS_AS(outputs::restore(tmp.path().string(), tampered(bad), contents), StoreError);
    }
    Manifest repeated = *manifest;
    repeated.nodes.push_back(repeated.nodes[1]);
    CHECK_THROWS_AS(outputs::validate(repeated), StoreError);
    Manifest file_root = *manifest;
    file_root.nodes[0].kind = Kind::file;
    file_root.nodes[0].digest = manifest->nodes[1].digest;
    CHECK_THROWS_AS(outputs::validate(file_root), StoreError); // a child of a file
    CHECK_FALSE(fs::exists(tmp.path() / "escape"));
    CHECK(read(tmp.path() / "out" / "f") == "x");
}

TEST_CASE("outputs: special files cannot be outputs; '.' cannot be declared", "[outputs]") {
    test::TempDir tmp;
    fs::create_directories(tmp.path() / "out");
    REQUIRE(::mkfifo((tmp.path() / "out" / "fifo").c_str(), 0600) == 0);
    MapContents contents;
    CHECK_THROWS_AS(outputs::record(tmp.path().string(), "out", contents), UsageError);
    CHECK_THROWS_AS(outputs::record(tmp.path().string(), ".", contents), UsageError);
    CHECK_THROWS_AS(outputs::record(tmp.path().string(), "out/..", contents), UsageError);
}

TEST_CASE("outputs: a file in place is known by its stamp; a change of its bytes is not hidden",
          "[outputs]") {
    test::TempDir tmp;
    write(tmp.path() / "out.bin", "recorded");
    MapContents contents;
    auto manifest = outputs::record(tmp.path().string(), "out.bin", contents);
    REQUIRE(manifest);
    const std::string stamp = manifest->nodes[0].stamp;
    CHECK_FALSE(stamp.empty());

    // Left alone when it is as recorded: not read, so not even compared with its digest.
    MapContents empty;
    auto unread = *manifest;
    unread.nodes[0].digest = std::string(32, '0');
    outputs::restore(tmp.path().string(), unread, empty);
    CHECK(read(tmp.path() / "out.bin") == "recorded");

    // The same size and mtime, other bytes: its ctime moved, so it is hashed and restored.
    const struct timespec mtime = mtime_of(tmp.path() / "out.bin");
    write(tmp.path() / "out.bin", "RECORDED");
    const struct timespec times[2] = {mtime, mtime};
    REQUIRE(::utimensat(AT_FDCWD, (tmp.path() / "out.bin").c_str(), times, 0) == 0);
    outputs::restore(tmp.path().string(), *manifest, contents);
    CHECK(read(tmp.path() / "out.bin") == "recorded");

    // Restored, it has another stamp: matched by its hash from then on, still left alone.
    const struct timespec restored = mtime_of(tmp.path() / "out.bin");
    outputs::restore(tmp.path().string(), *manifest, contents);
    CHECK(mtime_of(tmp.path() / "out.bin").tv_nsec == restored.tv_nsec);
    CHECK(mtime_of(tmp.path() / "out.bin").tv_sec == restored.tv_sec);
}

TEST_CASE("outputs: a directory in place is known by its stamp; a name added is not hidden",
          "[outputs]") {
    test::TempDir tmp;
    const fs::path out = tmp.path() / "out";
    make_tree(out);
    MapContents contents;
    const auto manifest = outputs::record(tmp.path().string(), "out", contents);
    REQUIRE(manifest);
    for (const auto& node : manifest->nodes) {
        if (node.kind == Kind::directory) {
            CHECK_FALSE(node.stamp.empty());
        }
    }
    outputs::restore(tmp.path().string(), *manifest, contents); // as recorded: nothing to do
    CHECK(unstamped(outputs::record(tmp.path().string(), "out", contents)) ==
          unstamped(manifest));

    // A name added, the directory's mtime put back: its ctime moved, so it is listed and the
    // name that the record lacks is removed.
    const struct timespec mtime = mtime_of(out / "sub");
    write(out / "sub" / "extra.txt", "not recorded");
    const struct timespec times[2] = {mtime, mtime};
    REQUIRE(::utimensat(AT_FDCWD, (out / "sub").c_str(), times, 0) == 0);
    outputs::restore(tmp.path().string(), *manifest, contents);
    CHECK_FALSE(fs::exists(out / "sub" / "extra.txt"));

    // A directory that is not a directory's place any more (a file there) is made again.
    fs::remove_all(out / "sub" / "deeper");
    write(out / "sub" / "deeper", "a file");
    outputs::restore(tmp.path().string(), *manifest, contents);
    CHECK(read(out / "sub" / "deeper" / "tool") == "#!/bin/sh\n");
}
