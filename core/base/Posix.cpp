#include "base/Posix.hpp"

#include "base/Error.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <unistd.h>

namespace cacheman {

std::string system_message(const std::string& what, const std::string& path) {
    return what + ": " + std::strerror(errno) + " (" + path + ")";
}

namespace {

std::string octal_mode(mode_t mode) {
    std::string digits;
    for (int shift = 9; shift >= 0; shift -= 3) {
        digits += static_cast<char>('0' + ((mode >> shift) & 7));
    }
    return digits;
}

// What is wrong with `info` and how to fix it; empty when it is safe.
std::string problem_of(const struct stat& info, FileType type) {
    const bool directory = type == FileType::directory;
    if (S_ISLNK(info.st_mode)) {
        return std::string("a symbolic link, which cacheman never follows; ") +
               (directory ? "give the directory it points to instead"
                          : "remove it, or move the file it points to in its place");
    }
    if (directory ? !S_ISDIR(info.st_mode) : !S_ISREG(info.st_mode)) {
        return directory ? "not a directory" : "not a regular file; remove it";
    }
    if (info.st_uid != geteuid()) {
        return "owned by uid " + std::to_string(info.st_uid) + ", not by you (uid " +
               std::to_string(geteuid()) +
               "), so that user could change what cacheman reads and runs; remove it or chown "
               "it to yourself";
    }
    const bool group = (info.st_mode & S_IWGRP) != 0;
    const bool others = (info.st_mode & S_IWOTH) != 0;
    if (group || others) {
        return std::string("writable by ") +
               (group && others ? "group and others" : (group ? "group" : "others")) + " (mode " +
               octal_mode(info.st_mode & 07777) +
               "), so another user could change what cacheman reads and runs; " +
               (directory ? "chmod 700 it, or use a directory only you can write" : "chmod 600 it");
    }
    return {};
}

} // namespace

void require_safe(const struct stat& info, FileType type, std::string_view what,
                  const std::string& path) {
    const std::string problem = problem_of(info, type);
    if (!problem.empty()) {
        throw StoreError("refusing " + std::string(what) + ": " + problem + " (" + path + ")");
    }
}

bool require_safe_path(const std::string& path, FileType type, std::string_view what,
                       bool may_be_missing) {
    struct stat info {};
    if (lstat(path.c_str(), &info) != 0) {
        if (errno == ENOENT && may_be_missing) {
            return false;
        }
        throw StoreError(system_message("cannot use " + std::string(what), path));
    }
    require_safe(info, type, what, path);
    return true;
}

int open_safe(const std::string& path, int flags, std::string_view what, bool may_be_missing) {
    // O_NONBLOCK: a FIFO planted at the path fails the check instead of blocking the open.
    const int fd = ::open(path.c_str(), flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
    if (fd < 0) {
        const int error = errno;
        if (error == ENOENT && may_be_missing) {
            return -1;
        }
        if (error == ELOOP) {
            require_safe_path(path, FileType::regular, what, true); // names the symbolic link
        }
        errno = error;
        throw StoreError(system_message("cannot open " + std::string(what), path));
    }
    struct stat info {};
    if (fstat(fd, &info) != 0) {
        const int error = errno;
        ::close(fd);
        errno = error;
        throw StoreError(system_message("cannot use " + std::string(what), path));
    }
    const std::string problem = problem_of(info, FileType::regular);
    if (!problem.empty()) {
        ::close(fd);
        require_safe(info, FileType::regular, what, path);
    }
    return fd;
}

void make_directories(const std::string& dir, mode_t mode, std::string_view what) {
    struct stat info {};
    if (stat(dir.c_str(), &info) == 0) {
        return;
    }
    const auto slash = dir.find_last_of('/');
    if (slash != std::string::npos && slash > 0) {
        make_directories(dir.substr(0, slash), mode, what);
    }
    if (mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) {
        throw StoreError(system_message("cannot create " + std::string(what), dir));
    }
}

int read_to_end(int fd, const std::function<void(std::string_view)>& on_chunk) {
    char buffer[1 << 16];
    while (true) {
        const ssize_t got = ::read(fd, buffer, sizeof buffer);
        if (got == 0) {
            return 0;
        }
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno;
        }
        on_chunk(std::string_view(buffer, static_cast<std::size_t>(got)));
    }
}

int write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t put = ::write(fd, bytes.data(), bytes.size());
        if (put < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno;
        }
        bytes.remove_prefix(static_cast<std::size_t>(put));
    }
    return 0;
}

void ensure_directory(const std::string& dir, std::string_view what) {
    make_directories(dir, 0700, what);
    require_safe_path(dir, FileType::directory, what);
}

std::string real_directory(const std::string& dir) {
    const std::unique_ptr<char, decltype(&std::free)> resolved(realpath(dir.c_str(), nullptr),
                                                               &std::free);
    if (!resolved) {
        throw StoreError(system_message("cannot resolve directory", dir));
    }
    return resolved.get();
}

void ensure_private_file(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0) {
        ::close(fd);
        return;
    }
    if (errno != EEXIST) {
        throw StoreError(system_message("cannot create store", path));
    }
}

} // namespace cacheman
