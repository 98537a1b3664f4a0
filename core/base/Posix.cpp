#include "base/Posix.hpp"

#include "base/Error.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cacheman {

std::string system_message(const std::string& what, const std::string& path) {
    return what + ": " + std::strerror(errno) + " (" + path + ")";
}

void ensure_directory(const std::string& dir) {
    struct stat info {};
    if (stat(dir.c_str(), &info) == 0) {
        if (!S_ISDIR(info.st_mode)) {
            errno = ENOTDIR;
            throw StoreError(system_message("cannot use store directory", dir));
        }
        return;
    }
    const auto slash = dir.find_last_of('/');
    if (slash != std::string::npos && slash > 0) {
        ensure_directory(dir.substr(0, slash));
    }
    if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
        throw StoreError(system_message("cannot create store directory", dir));
    }
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

void require_private(const std::string& path, const std::string& what) {
    struct stat info {};
    if (lstat(path.c_str(), &info) != 0) {
        throw StoreError(system_message("cannot use " + what, path));
    }
    if (info.st_uid != geteuid() || (info.st_mode & 077) != 0 || S_ISLNK(info.st_mode)) {
        throw StoreError("refusing a " + what +
                         " that is not private to you (owned by you, no access for others): " +
                         path);
    }
}

} // namespace cacheman
