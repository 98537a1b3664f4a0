#include "TempDir.hpp"
#include "base/Error.hpp"
#include "base/Posix.hpp"

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace cacheman;
using cacheman::test::TempDir;

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream content;
    content << in.rdbuf();
    return content.str();
}

void write_file(const std::string& path, const std::string& content, mode_t mode) {
    std::ofstream(path, std::ios::binary) << content;
    REQUIRE(chmod(path.c_str(), mode) == 0);
}

mode_t mode_of(const std::string& path) {
    struct stat info {};
    REQUIRE(lstat(path.c_str(), &info) == 0);
    return info.st_mode & 07777;
}

// The message require_safe_path gives for `path`, or "" when it accepts it.
std::string refusal(const std::string& path, FileType type) {
    try {
        require_safe_path(path, type, "test file");
    } catch (const StoreError& error) {
        return error.what();
    }
    return {};
}

} // namespace

TEST_CASE("posix: a directory and a file only the user can write are safe", "[posix]") {
    TempDir tmp;
    const std::string dir = tmp.path().string();
    const std::string file = dir + "/f";
    write_file(file, "x", 0600);
    CHECK(refusal(dir, FileType::directory).empty());
    CHECK(refusal(file, FileType::regular).empty());
    // Readable by others is the user's choice; only writing matters (StrictModes).
    REQUIRE(chmod(dir.c_str(), 0755) == 0);
    REQUIRE(chmod(file.c_str(), 0644) == 0);
    CHECK(refusal(dir, FileType::directory).empty());
    CHECK(refusal(file, FileType::regular).empty());
}

TEST_CASE("posix: writable by group or others is refused, sticky or not", "[posix]") {
    TempDir tmp;
    const std::string dir = tmp.path().string() + "/d";
    const std::string file = tmp.path().string() + "/f";
    REQUIRE(mkdir(dir.c_str(), 0700) == 0);
    write_file(file, "x", 0600);
    const struct {
        mode_t mode;
        const char* says;
    } cases[] = {{0720, "writable by group (mode 0720)"},
                 {0702, "writable by others (mode 0702)"},
                 {0777, "writable by group and others (mode 0777)"},
                 {01777, "writable by group and others (mode 1777)"}};
    for (const auto& c : cases) {
        INFO(c.says);
        REQUIRE(chmod(dir.c_str(), c.mode) == 0);
        const std::string message = refusal(dir, FileType::directory);
        CHECK_THAT(message, Catch::StartsWith("refusing test file: ") && Catch::Contains(c.says) &&
                                Catch::Contains("chmod 700") && Catch::EndsWith("(" + dir + ")"));
        CHECK(message.find('\n') == std::string::npos);
    }
    REQUIRE(chmod(file.c_str(), 0666) == 0);
    CHECK_THAT(refusal(file, FileType::regular),
               Catch::Contains("writable by group and others (mode 0666)") &&
                   Catch::Contains("chmod 600"));
}

TEST_CASE("posix: a symbolic link is refused, even to a safe target", "[posix]") {
    TempDir tmp;
    const std::string target = tmp.path().string() + "/target";
    const std::string link = tmp.path().string() + "/link";
    write_file(target, "secret", 0600);
    REQUIRE(symlink(target.c_str(), link.c_str()) == 0);
    CHECK_THAT(refusal(link, FileType::regular), Catch::Contains("a symbolic link"));
    const std::string dir_link = tmp.path().string() + "/dir-link";
    REQUIRE(symlink(tmp.path().c_str(), dir_link.c_str()) == 0);
    CHECK_THAT(refusal(dir_link, FileType::directory), Catch::Contains("a symbolic link"));
    // open_safe neither follows it nor creates anything through it.
    CHECK_THROWS_WITH(open_safe(link, O_WRONLY | O_APPEND | O_CREAT, "test file"),
                      Catch::Contains("a symbolic link") && Catch::Contains(link));
    const std::string dangling = tmp.path().string() + "/dangling";
    REQUIRE(symlink((tmp.path() / "nowhere").c_str(), dangling.c_str()) == 0);
    CHECK_THROWS_WITH(open_safe(dangling, O_RDWR | O_CREAT, "test file"),
                      Catch::Contains("a symbolic link"));
    CHECK_FALSE(std::filesystem::exists(tmp.path() / "nowhere"));
    CHECK(read_file(target) == "secret");
}

TEST_CASE("posix: the wrong kind of file is refused", "[posix]") {
    TempDir tmp;
    const std::string file = tmp.path().string() + "/f";
    write_file(file, "x", 0600);
    CHECK_THAT(refusal(file, FileType::directory), Catch::Contains("not a directory"));
    CHECK_THAT(refusal(tmp.path().string(), FileType::regular),
               Catch::Contains("not a regular file"));
    // A FIFO fails the check instead of blocking the open.
    const std::string fifo = tmp.path().string() + "/fifo";
    REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
    CHECK_THROWS_AS(open_safe(fifo, O_WRONLY | O_APPEND, "test file"), StoreError);
    CHECK_THROWS_WITH(open_safe(fifo, O_RDWR, "test file"), Catch::Contains("not a regular file"));
}

TEST_CASE("posix: a file of another user is refused", "[posix]") {
    if (geteuid() != 0) {
        WARN("needs root to chown; skipped");
        return;
    }
    TempDir tmp;
    const std::string file = tmp.path().string() + "/f";
    write_file(file, "x", 0600);
    REQUIRE(chown(file.c_str(), 65534, 65534) == 0);
    CHECK_THAT(refusal(file, FileType::regular),
               Catch::Contains("owned by uid 65534, not by you (uid 0)"));
    CHECK_THROWS_WITH(open_safe(file, O_RDWR, "test file"), Catch::Contains("owned by uid 65534"));
}

TEST_CASE("posix: a missing path is refused unless it may be missing", "[posix]") {
    TempDir tmp;
    const std::string missing = tmp.path().string() + "/missing";
    CHECK_FALSE(require_safe_path(missing, FileType::regular, "test file", true));
    CHECK_THROWS_AS(require_safe_path(missing, FileType::regular, "test file"), StoreError);
    CHECK(open_safe(missing, O_RDONLY, "test file", true) == -1);
    CHECK(open_safe(tmp.path().string() + "/no/such/dir", O_RDWR | O_CREAT, "test file", true) ==
          -1);
    CHECK_THROWS_AS(open_safe(missing, O_RDONLY, "test file"), StoreError);
}

TEST_CASE("posix: open_safe creates a private file and opens a safe one", "[posix]") {
    TempDir tmp;
    const std::string file = tmp.path().string() + "/f";
    const int fd = open_safe(file, O_WRONLY | O_CREAT, "test file");
    REQUIRE(fd >= 0);
    CHECK(write(fd, "ab", 2) == 2);
    close(fd);
    CHECK(mode_of(file) == 0600);
    const int again = open_safe(file, O_RDONLY, "test file");
    CHECK(again >= 0);
    close(again);
    REQUIRE(chmod(file.c_str(), 0620) == 0);
    CHECK_THROWS_WITH(open_safe(file, O_RDONLY, "test file"), Catch::Contains("writable by group"));
}

TEST_CASE("posix: ensure_directory creates private directories and checks the last", "[posix]") {
    TempDir tmp;
    const std::string dir = tmp.path().string() + "/a/b/c";
    ensure_directory(dir, "test directory");
    CHECK(mode_of(tmp.path().string() + "/a") == 0700);
    CHECK(mode_of(dir) == 0700);
    ensure_directory(dir, "test directory"); // an existing safe one is fine
    REQUIRE(chmod(dir.c_str(), 0777) == 0);
    CHECK_THROWS_WITH(ensure_directory(dir, "test directory"),
                      Catch::StartsWith("refusing test directory: writable by group and others"));
    // A parent's mode is the user's choice.
    REQUIRE(chmod(dir.c_str(), 0700) == 0);
    REQUIRE(chmod((tmp.path().string() + "/a").c_str(), 0777) == 0);
    CHECK_NOTHROW(ensure_directory(dir, "test directory"));
    const std::string file = tmp.path().string() + "/file";
    write_file(file, "x", 0600);
    CHECK_THROWS_AS(ensure_directory(file + "/sub", "test directory"), StoreError);
    CHECK_THROWS_WITH(ensure_directory(file, "test directory"), Catch::Contains("not a directory"));
}

TEST_CASE("posix: real_directory resolves symbolic links", "[posix]") {
    TempDir tmp;
    const std::string real = std::filesystem::canonical(tmp.path()).string();
    const std::string link = tmp.path().string() + "/link";
    REQUIRE(symlink(real.c_str(), link.c_str()) == 0);
    CHECK(real_directory(link + "/") == real);
    CHECK_THROWS_AS(real_directory(tmp.path().string() + "/missing"), StoreError);
}
