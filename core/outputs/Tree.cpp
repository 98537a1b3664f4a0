#include "outputs/Tree.hpp"

#include "base/Error.hpp"
#include "base/Hash.hpp"
#include "base/Posix.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <fcntl.h>
#include <set>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace cacheman::outputs {

namespace {

class Fd {
  public:
    explicit Fd(int fd = -1) : m_fd(fd) {}
    ~Fd() {
        if (m_fd >= 0) {
            ::close(m_fd);
        }
    }
    Fd(Fd&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}
    Fd& operator=(Fd&& other) noexcept {
        std::swap(m_fd, other.m_fd);
        return *this;
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    [[nodiscard]] int get() const { return m_fd; }

  private:
    int m_fd;
};

constexpr int k_dir_flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

std::string message(const std::string& what, const std::string& path, int error = errno) {
    return what + ": " + std::strerror(error) + " (" + path + ")";
}

// Paths in depth-first order: compared component by component ('/' sorts before every byte),
// so everything below "a" comes right after "a", before "a-b".
bool path_less(const std::string& a, const std::string& b) {
    const std::size_t common = std::min(a.size(), b.size());
    for (std::size_t i = 0; i < common; ++i) {
        if (a[i] != b[i]) {
            const auto rank = [](char c) {
                return c == '/' ? 0 : static_cast<unsigned char>(c) + 1;
            };
            return rank(a[i]) < rank(b[i]);
        }
    }
    return a.size() < b.size();
}

std::string parent_of(const std::string& path) {
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

std::string name_of(const std::string& path) {
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string join(const std::string& dir, const std::string& name) {
    return dir.empty() ? name : dir + "/" + name;
}

// The names in a directory (without "." and ".."), in byte order.
std::vector<std::string> names_in(int dirfd, const std::string& shown) {
    const int copy = ::openat(dirfd, ".", k_dir_flags);
    DIR* listing = copy < 0 ? nullptr : ::fdopendir(copy);
    if (listing == nullptr) {
        if (copy >= 0) {
            ::close(copy);
        }
        throw StoreError(message("cannot list directory", shown));
    }
    std::vector<std::string> names;
    while (const dirent* entry = ::readdir(listing)) {
        const std::string_view name = entry->d_name;
        if (name != "." && name != "..") {
            names.emplace_back(name);
        }
    }
    ::closedir(listing);
    std::sort(names.begin(), names.end());
    return names;
}

bool stat_at(int dirfd, const std::string& name, struct stat& info) {
    if (::fstatat(dirfd, name.c_str(), &info, AT_SYMLINK_NOFOLLOW) == 0) {
        return true;
    }
    if (errno != ENOENT) {
        throw StoreError(message("cannot inspect", name));
    }
    return false;
}

std::string link_target(int dirfd, const std::string& name, const std::string& shown) {
    std::string target(256, '\0');
    while (true) {
        const ssize_t size = ::readlinkat(dirfd, name.c_str(), target.data(), target.size());
        if (size < 0) {
            throw UsageError(message("cannot read symbolic link", shown));
        }
        if (static_cast<std::size_t>(size) < target.size()) {
            target.resize(static_cast<std::size_t>(size));
            return target;
        }
        target.resize(target.size() * 2);
    }
}

// Removes what is at dirfd/name, a directory's whole tree included, following no link.
void remove_at(int dirfd, const std::string& name, const std::string& shown) {
    struct stat info {};
    if (!stat_at(dirfd, name, info)) {
        return;
    }
    if (!S_ISDIR(info.st_mode)) {
        if (::unlinkat(dirfd, name.c_str(), 0) != 0 && errno != ENOENT) {
            throw StoreError(message("cannot remove", shown));
        }
        return;
    }
    struct Level {
        Fd fd;
        std::string name;
        std::vector<std::string> subdirectories;
    };
    std::vector<Level> levels;
    const auto enter = [&](int parent, const std::string& entry) {
        Fd fd(::openat(parent, entry.c_str(), k_dir_flags));
        if (fd.get() < 0) {
            throw StoreError(message("cannot open directory", shown + "/..." + entry));
        }
        Level level{std::move(fd), entry, {}};
        for (const auto& child : names_in(level.fd.get(), shown)) {
            struct stat child_info {};
            if (!stat_at(level.fd.get(), child, child_info)) {
                continue;
            }
            if (S_ISDIR(child_info.st_mode)) {
                level.subdirectories.push_back(child);
            } else if (::unlinkat(level.fd.get(), child.c_str(), 0) != 0 && errno != ENOENT) {
                throw StoreError(message("cannot remove", shown + "/..." + child));
            }
        }
        levels.push_back(std::move(level));
    };
    enter(dirfd, name);
    while (!levels.empty()) {
        Level& top = levels.back();
        if (!top.subdirectories.empty()) {
            const std::string next = top.subdirectories.back();
            top.subdirectories.pop_back();
            enter(top.fd.get(), next);
            continue;
        }
        const std::string done = top.name;
        levels.pop_back();
        const int parent = levels.empty() ? dirfd : levels.back().fd.get();
        if (::unlinkat(parent, done.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
            throw StoreError(message("cannot remove directory", shown));
        }
    }
}

// A name in the same directory for a file on its way into place.
std::string temporary_name(const std::string& name) {
    static unsigned counter = 0;
    return ".cacheman-" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + "-" +
           name.substr(0, 64);
}

// Renames `temporary` over `name` in dirfd, removing a directory in the way first.
void move_into_place(int dirfd, const std::string& temporary, const std::string& name,
                     const std::string& shown) {
    struct stat info {};
    if (stat_at(dirfd, name, info) && S_ISDIR(info.st_mode)) {
        remove_at(dirfd, name, shown);
    }
    if (::renameat(dirfd, temporary.c_str(), dirfd, name.c_str()) != 0) {
        const int error = errno;
        ::unlinkat(dirfd, temporary.c_str(), 0);
        throw StoreError(message("cannot restore output", shown, error));
    }
}

// The stamp as 8 numbers in 64 bytes (compared as bytes, never read back).
std::string stamp_of(const struct stat& info) {
    const std::uint64_t fields[] = {static_cast<std::uint64_t>(info.st_dev),
                                    static_cast<std::uint64_t>(info.st_ino),
                                    static_cast<std::uint64_t>(info.st_size),
                                    static_cast<std::uint64_t>(info.st_mode),
                                    static_cast<std::uint64_t>(info.st_mtim.tv_sec),
                                    static_cast<std::uint64_t>(info.st_mtim.tv_nsec),
                                    static_cast<std::uint64_t>(info.st_ctim.tv_sec),
                                    static_cast<std::uint64_t>(info.st_ctim.tv_nsec)};
    return {reinterpret_cast<const char*>(fields), sizeof fields};
}

bool before(const struct timespec& a, const struct timespec& b) {
    return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

// Waits (a few milliseconds at most: one tick of the file system's clock) until that clock
// has passed `ctime`, so that any later change of the file gives it a later ctime; false
// when it does not pass (a ctime in the future).
bool clock_passed(const struct timespec& ctime) {
    for (int tries = 0; tries < 100; ++tries) {
        struct timespec now {};
        ::clock_gettime(CLOCK_REALTIME_COARSE, &now);
        if (before(ctime, now)) {
            return true;
        }
        const struct timespec pause { 0, 1'000'000 };
        ::nanosleep(&pause, nullptr);
    }
    return false;
}

bool file_matches(int dirfd, const std::string& name, const Node& node) {
    struct stat info {};
    if (!stat_at(dirfd, name, info) || !S_ISREG(info.st_mode) ||
        static_cast<std::uint64_t>(info.st_size) != node.size ||
        ((info.st_mode & S_IXUSR) != 0) != node.executable) {
        return false;
    }
    if (!node.stamp.empty() && stamp_of(info) == node.stamp) {
        return true; // as it was recorded: not read again
    }
    Fd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    return fd.get() >= 0 && digest_of(fd.get()) == node.digest;
}

void place_file(int dirfd, const std::string& name, const Node& node, Contents& contents,
                const std::string& shown) {
    if (file_matches(dirfd, name, node)) {
        return; // left as it is, mtime included
    }
    const std::string temporary = temporary_name(name);
    Fd fd(::openat(dirfd, temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                   node.executable ? 0777 : 0666));
    if (fd.get() < 0) {
        throw StoreError(message("cannot restore output", shown));
    }
    try {
        contents.get(node.digest, fd.get());
        struct stat info {};
        if (::fstat(fd.get(), &info) != 0 ||
            static_cast<std::uint64_t>(info.st_size) != node.size) {
            throw StoreError("stored contents do not match the record (" + shown + ")");
        }
    } catch (...) {
        ::unlinkat(dirfd, temporary.c_str(), 0);
        throw;
    }
    move_into_place(dirfd, temporary, name, shown);
}

void place_symlink(int dirfd, const std::string& name, const Node& node, const std::string& shown) {
    struct stat info {};
    if (stat_at(dirfd, name, info) && S_ISLNK(info.st_mode) &&
        link_target(dirfd, name, shown) == node.target) {
        return;
    }
    const std::string temporary = temporary_name(name);
    if (::symlinkat(node.target.c_str(), dirfd, temporary.c_str()) != 0) {
        throw StoreError(message("cannot restore output", shown));
    }
    move_into_place(dirfd, temporary, name, shown);
}

// A directory put in place for `node`: open, and whether it still has the stamp it was
// recorded with (then it holds the recorded names and no others: adding, removing or renaming
// an entry moves a directory's mtime and ctime).
struct PlacedDirectory {
    Fd fd;
    bool as_recorded = false;
};

// A directory at dirfd/name (whatever was there replaced, a link never followed), open.
PlacedDirectory place_directory(int dirfd, const std::string& name, const Node& node,
                                const std::string& shown) {
    Fd fd(::openat(dirfd, name.c_str(), k_dir_flags));
    if (fd.get() >= 0) {
        struct stat info {};
        const bool as_recorded =
            !node.stamp.empty() && ::fstat(fd.get(), &info) == 0 && stamp_of(info) == node.stamp;
        return {std::move(fd), as_recorded};
    }
    if (errno == ENOTDIR || errno == ELOOP) {
        remove_at(dirfd, name, shown); // not a directory, or a link
    } else if (errno != ENOENT) {
        throw StoreError(message("cannot restore output", shown));
    }
    if (::mkdirat(dirfd, name.c_str(), 0777) != 0 && errno != EEXIST) {
        throw StoreError(message("cannot restore output", shown));
    }
    fd = Fd(::openat(dirfd, name.c_str(), k_dir_flags));
    if (fd.get() < 0) {
        throw StoreError(message("cannot restore output", shown));
    }
    return {std::move(fd), false};
}

// The directory that holds the declared output (created when missing), and the output's name.
std::pair<Fd, std::string> open_parent(const std::string& cwd, const std::string& declared,
                                       bool create) {
    std::string full = declared.front() == '/' ? declared : join(cwd, declared);
    while (full.size() > 1 && full.back() == '/') {
        full.pop_back();
    }
    const std::string name = name_of(full);
    if (name.empty() || name == "." || name == "..") {
        throw UsageError("an output must name a file or directory: '" + declared + "'");
    }
    std::string parent = parent_of(full);
    if (parent.empty()) {
        parent = "/";
    }
    Fd fd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0 && errno == ENOENT && create) {
        make_directories(parent, 0777, "directory"); // the user's own path to the output
        fd = Fd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    }
    if (fd.get() < 0 && !(errno == ENOENT && !create)) {
        throw StoreError(message("cannot open directory", parent));
    }
    return {std::move(fd), name};
}

void record_file(int dirfd, const std::string& name, Node& node, Contents& contents,
                 const std::string& shown) {
    Fd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    struct stat info {};
    if (fd.get() < 0 || ::fstat(fd.get(), &info) != 0) {
        throw UsageError(message("cannot read output", shown));
    }
    const bool stampable = clock_passed(info.st_ctim);
    node.executable = (info.st_mode & S_IXUSR) != 0;
    node.digest = digest_of(fd.get(), &node.size);
    struct stat after {};
    std::string stamp = stamp_of(info);
    if (stampable && ::fstat(fd.get(), &after) == 0 && stamp_of(after) == stamp &&
        static_cast<std::uint64_t>(info.st_size) == node.size) {
        node.stamp = std::move(stamp); // unchanged while it was read
    }
    ::lseek(fd.get(), 0, SEEK_SET);
    contents.put(node.digest, fd.get(), node.size);
}

// The node for what is at dirfd/name (kind and, for a file or link, its contents), or nullopt
// for a special file, which cannot be an output.
Node record_node(int dirfd, const std::string& name, const std::string& path,
                 const struct stat& info, Contents& contents, const std::string& shown) {
    Node node;
    node.path = path;
    if (S_ISREG(info.st_mode)) {
        node.kind = Kind::file;
        record_file(dirfd, name, node, contents, shown);
    } else if (S_ISLNK(info.st_mode)) {
        node.kind = Kind::symlink;
        node.target = link_target(dirfd, name, shown);
    } else if (S_ISDIR(info.st_mode)) {
        node.kind = Kind::directory;
    } else {
        throw UsageError("an output can hold only files, directories and symbolic links: '" +
                         shown + "' is a special file");
    }
    return node;
}

} // namespace

std::uint64_t Manifest::bytes() const {
    std::uint64_t total = 0;
    for (const auto& node : nodes) {
        total += node.size;
    }
    return total;
}

std::string digest_of(int fd, std::uint64_t* size) {
    ::lseek(fd, 0, SEEK_SET);
    Hasher hasher;
    std::uint64_t total = 0;
    if (const int error = read_to_end(fd,
                                      [&](std::string_view chunk) {
                                          hasher.raw(chunk.data(), chunk.size());
                                          total += chunk.size();
                                      });
        error != 0) {
        throw UsageError(std::string("cannot read an output: ") + std::strerror(error));
    }
    if (size != nullptr) {
        *size = total;
    }
    return hasher.hex();
}

std::optional<Manifest> record(const std::string& cwd, const std::string& declared,
                               Contents& contents) {
    auto [parent, name] = open_parent(cwd, declared, false);
    struct stat info {};
    if (parent.get() < 0 || !stat_at(parent.get(), name, info)) {
        return std::nullopt;
    }
    Manifest manifest{declared, {}};
    manifest.nodes.push_back(record_node(parent.get(), name, "", info, contents, declared));
    if (manifest.nodes.front().kind != Kind::directory) {
        return manifest;
    }
    struct Level {
        Fd fd;
        std::string path;
        std::vector<std::pair<std::string, std::size_t>> subdirectories; // name, node index
    };
    std::vector<Level> levels;
    const auto enter = [&](int dirfd, const std::string& entry, std::size_t index) {
        const std::string path = manifest.nodes[index].path;
        Fd fd(::openat(dirfd, entry.c_str(), k_dir_flags));
        const std::string shown = join(declared, path);
        struct stat listed {};
        if (fd.get() < 0 || ::fstat(fd.get(), &listed) != 0) {
            throw UsageError(message("cannot read output", shown));
        }
        // Stamped as a file is: once the clock has passed its ctime, and before it is listed,
        // so that any change of its names after the listing moves its ctime.
        if (clock_passed(listed.st_ctim)) {
            manifest.nodes[index].stamp = stamp_of(listed);
        }
        Level level{std::move(fd), path, {}};
        for (const auto& child : names_in(level.fd.get(), shown)) {
            struct stat child_info {};
            if (!stat_at(level.fd.get(), child, child_info)) {
                continue; // removed meanwhile
            }
            const std::string child_path = join(path, child);
            manifest.nodes.push_back(record_node(level.fd.get(), child, child_path, child_info,
                                                 contents, join(declared, child_path)));
            if (S_ISDIR(child_info.st_mode)) {
                level.subdirectories.emplace_back(child, manifest.nodes.size() - 1);
            }
        }
        levels.push_back(std::move(level));
    };
    enter(parent.get(), name, 0);
    while (!levels.empty()) {
        Level& top = levels.back();
        if (top.subdirectories.empty()) {
            levels.pop_back();
            continue;
        }
        const auto [next, index] = top.subdirectories.back();
        top.subdirectories.pop_back();
        enter(top.fd.get(), next, index);
    }
    std::sort(manifest.nodes.begin(), manifest.nodes.end(),
              [](const Node& a, const Node& b) { return path_less(a.path, b.path); });
    return manifest;
}

void validate(const Manifest& manifest) {
    const auto refuse = [&](const std::string& why) {
        throw StoreError("refusing a stored output of '" + manifest.declared + "': " + why);
    };
    if (manifest.declared.empty() || manifest.nodes.empty() ||
        !manifest.nodes.front().path.empty()) {
        refuse("it does not start with the output itself");
    }
    std::set<std::string> directories;
    for (std::size_t i = 0; i < manifest.nodes.size(); ++i) {
        const Node& node = manifest.nodes[i];
        if (i > 0) {
            if (node.path.empty() || node.path.front() == '/' ||
                node.path.find('\0') != std::string::npos) {
                refuse("a path is empty, absolute or holds a NUL");
            }
            std::size_t start = 0;
            while (start <= node.path.size()) {
                const auto end = std::min(node.path.find('/', start), node.path.size());
                const std::string_view part(node.path.data() + start, end - start);
                if (part.empty() || part == "." || part == "..") {
                    refuse("path '" + node.path + "' has an empty, '.' or '..' component");
                }
                start = end + 1;
            }
            if (!path_less(manifest.nodes[i - 1].path, node.path)) {
                refuse("paths out of order or repeated at '" + node.path + "'");
            }
            if (directories.count(parent_of(node.path)) == 0) {
                refuse("'" + node.path + "' is not inside a directory of the record");
            }
        }
        if (node.kind == Kind::directory) {
            directories.insert(node.path);
        } else if (node.kind == Kind::file && node.digest.size() != 32) {
            refuse("file '" + node.path + "' has no content address");
        } else if (node.kind != Kind::file && node.kind != Kind::symlink) {
            refuse("unknown kind of node at '" + node.path + "'");
        }
    }
}

void restore(const std::string& cwd, const Manifest& manifest, Contents& contents) {
    validate(manifest);
    auto [parent, name] = open_parent(cwd, manifest.declared, true);
    const Node& root = manifest.nodes.front();
    const std::string& declared = manifest.declared;
    if (root.kind == Kind::file) {
        place_file(parent.get(), name, root, contents, declared);
        return;
    }
    if (root.kind == Kind::symlink) {
        place_symlink(parent.get(), name, root, declared);
        return;
    }
    // The open directories from the output down to the current node's parent, each with the
    // names the record holds in it (what else is there is removed when it is left, unless the
    // directory is as recorded).
    struct Level {
        PlacedDirectory directory;
        std::string path;
        std::set<std::string> recorded;
    };
    std::vector<Level> levels;
    const auto leave = [&] {
        Level& top = levels.back();
        if (!top.directory.as_recorded) {
            const std::string shown = join(declared, top.path);
            for (const auto& entry : names_in(top.directory.fd.get(), shown)) {
                if (top.recorded.count(entry) == 0) {
                    remove_at(top.directory.fd.get(), entry, join(shown, entry));
                }
            }
        }
        levels.pop_back();
    };
    levels.push_back({place_directory(parent.get(), name, root, declared), "", {}});
    for (std::size_t i = 1; i < manifest.nodes.size(); ++i) {
        const Node& node = manifest.nodes[i];
        const std::string dir = parent_of(node.path);
        while (levels.size() > 1 && levels.back().path != dir) {
            leave(); // validate() ensured that `dir` is on the way back up
        }
        if (levels.back().path != dir) {
            throw StoreError("refusing a stored output of '" + declared + "': '" + node.path +
                             "' is out of order");
        }
        Level& here = levels.back();
        const int here_fd = here.directory.fd.get();
        const std::string entry = name_of(node.path);
        const std::string shown = join(declared, node.path);
        if (!here.directory.as_recorded) {
            here.recorded.insert(entry);
        }
        switch (node.kind) {
        case Kind::file:
            place_file(here_fd, entry, node, contents, shown);
            break;
        case Kind::symlink:
            place_symlink(here_fd, entry, node, shown);
            break;
        case Kind::directory:
            levels.push_back({place_directory(here_fd, entry, node, shown), node.path, {}});
            break;
        }
    }
    while (!levels.empty()) {
        leave();
    }
}

} // namespace cacheman::outputs
