#include "run/RunKey.hpp"

#include "base/Error.hpp"
#include "base/Hash.hpp"
#include "base/Posix.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <functional>
#include <sys/stat.h>
#include <unistd.h>

namespace cacheman {

namespace {

[[noreturn]] void unreadable(const std::string& path) {
    throw UsageError(std::string("cannot read watched path: ") + std::strerror(errno) + " (" +
                     path + ")");
}

void hash_file_contents(Hasher& hasher, const std::string& path, std::uint64_t& bytes) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        unreadable(path);
    }
    std::uint64_t total = 0;
    const int error = read_to_end(fd, [&](std::string_view chunk) {
        hasher.raw(chunk.data(), chunk.size());
        total += chunk.size();
    });
    ::close(fd);
    if (error != 0) {
        errno = error;
        unreadable(path);
    }
    hasher.raw(&total, sizeof total); // the length closes the field
    bytes += total;
}

struct WatchSummary {
    std::uint64_t files = 0;
    std::uint64_t bytes = 0;
};

// Hashes one filesystem entry at `path` (named `relative` in the hash), recursing into
// directories in byte order of their entries' names. Symlinks are not followed.
void hash_entry(Hasher& hasher, const std::string& path, const std::string& relative,
                const struct stat& info, WatchSummary& summary) {
    hasher.field(relative);
    if (S_ISREG(info.st_mode)) {
        hasher.field("file");
        hash_file_contents(hasher, path, summary.bytes);
        ++summary.files;
    } else if (S_ISLNK(info.st_mode)) {
        std::string target(static_cast<std::size_t>(info.st_size) + 1, '\0');
        const ssize_t size = readlink(path.c_str(), target.data(), target.size());
        if (size < 0) {
            unreadable(path);
        }
        target.resize(static_cast<std::size_t>(size));
        hasher.field("symlink");
        hasher.field(target);
    } else if (S_ISDIR(info.st_mode)) {
        hasher.field("directory");
        DIR* dir = opendir(path.c_str());
        if (dir == nullptr) {
            unreadable(path);
        }
        std::vector<std::string> names;
        while (const dirent* entry = readdir(dir)) {
            const std::string_view name = entry->d_name;
            if (name != "." && name != "..") {
                names.emplace_back(name);
            }
        }
        closedir(dir);
        std::sort(names.begin(), names.end());
        const std::uint64_t count = names.size();
        hasher.raw(&count, sizeof count);
        for (const auto& name : names) {
            const std::string child = path + "/" + name;
            struct stat child_info {};
            if (lstat(child.c_str(), &child_info) != 0) {
                unreadable(child);
            }
            hash_entry(hasher, child, relative.empty() ? name : relative + "/" + name, child_info,
                       summary);
        }
    } else {
        hasher.field("special"); // a fifo or device: its type only, never its contents
    }
}

// Hashes the watched `path`, named `name` in the key.
KeyPart hash_watch(Hasher& hasher, const std::string& path, const std::string& name) {
    hasher.field("watch");
    hasher.field(name);
    // The watched path itself is followed when it is a symlink (users watch `config` whatever
    // it points to); symlinks inside a watched directory are hashed as links, never followed.
    struct stat info {};
    if (stat(path.c_str(), &info) != 0) {
        if (errno != ENOENT && errno != ENOTDIR) {
            unreadable(path);
        }
        hasher.field("missing");
        return {"watch " + name, "missing"};
    }
    Hasher own;
    WatchSummary summary;
    hash_entry(own, path, "", info, summary);
    const std::string digest = own.hex();
    hasher.field(digest);
    std::string description;
    if (S_ISDIR(info.st_mode)) {
        description = "directory, " + std::to_string(summary.files) + " files, " +
                      std::to_string(summary.bytes) + " bytes";
    } else if (S_ISREG(info.st_mode)) {
        description = "file, " + std::to_string(summary.bytes) + " bytes";
    } else {
        description = S_ISLNK(info.st_mode) ? "symlink" : "special file";
    }
    return {"watch " + name, description + ", hash " + digest.substr(0, 16)};
}

std::string quoted_list(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) {
        out += out.empty() ? "" : " ";
        out += "'" + item + "'";
    }
    return out;
}

} // namespace

CapturedInput::CapturedInput(int fd) {
    m_spool.append_all(fd, "stdin");
    m_fd = m_spool.file();
    m_summary = {m_spool.size(), m_spool.digest()};
}

std::string relative_to_root(const std::string& path, const std::string& cwd,
                             const std::string& root, const std::string& what) {
    namespace fs = std::filesystem;
    const fs::path absolute = (fs::path(cwd) / path).lexically_normal();
    const fs::path relative = absolute.lexically_relative(fs::path(root).lexically_normal());
    const std::string text = relative.generic_string();
    if (text.empty() || text == ".." || text.rfind("../", 0) == 0) {
        throw UsageError(what + " '" + path + "' is outside --root '" + root + "'");
    }
    if (text.size() > 1 && text.back() == '/') {
        return text.substr(0, text.size() - 1);
    }
    return text;
}

RunKey compute_run_key(const RunSpec& spec, const EnvLookup& env) {
    Hasher hasher;
    RunKey key;
    hasher.field("cacheman-run-key-v1");

    hasher.field("argv");
    const std::uint64_t argc = spec.argv.size();
    hasher.raw(&argc, sizeof argc);
    for (const auto& arg : spec.argv) {
        hasher.field(arg);
    }
    key.parts.push_back({"argv", quoted_list(spec.argv)});

    const auto in_key = [&](const std::string& path, const std::string& what) {
        return spec.root ? relative_to_root(path, spec.cwd, *spec.root, what) : path;
    };
    const std::string cwd = in_key(spec.cwd, "the working directory");
    hasher.field(spec.root ? "cwd under root" : "cwd");
    hasher.field(cwd);
    key.parts.push_back({"cwd", cwd});
    if (spec.root) {
        key.parts.push_back({"root", *spec.root + " (not part of the key)"});
    }

    for (const auto& name : spec.env_names) {
        const auto value = env(name.c_str());
        hasher.field("env");
        hasher.field(name);
        hasher.field(value ? "set" : "unset");
        hasher.field(value.value_or(""));
        key.parts.push_back({"env " + name, value ? "'" + *value + "'" : "(unset)"});
    }
    for (const auto& path : spec.watch_paths) {
        key.parts.push_back(hash_watch(hasher, path, in_key(path, "watched path")));
    }
    for (const auto& path : spec.output_paths) {
        const std::string name = in_key(path, "output");
        hasher.field("output");
        hasher.field(name);
        key.parts.push_back({"output", name});
    }
    for (const auto& extra : spec.extra_keys) {
        hasher.field("key");
        hasher.field(extra);
        key.parts.push_back({"key", "'" + extra + "'"});
    }
    if (spec.stdin) {
        hasher.field("stdin");
        hasher.field(spec.stdin->digest);
        key.parts.push_back({"stdin", std::to_string(spec.stdin->bytes) + " bytes, hash " +
                                          spec.stdin->digest.substr(0, 16)});
    } else {
        key.parts.push_back({"stdin", "not part of the key (--stdin makes it one)"});
    }
    key.hex = hasher.hex();
    return key;
}

} // namespace cacheman
