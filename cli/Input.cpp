#include "Input.hpp"

#include "base/Error.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cacheman::cli {

namespace {

std::string read_all(int fd, const std::string& name) {
    std::string data;
    struct stat info {};
    if (fstat(fd, &info) == 0 && S_ISREG(info.st_mode) && info.st_size > 0) {
        data.reserve(static_cast<std::size_t>(info.st_size));
    }
    char buffer[1 << 16];
    while (true) {
        const ssize_t got = ::read(fd, buffer, sizeof buffer);
        if (got > 0) {
            data.append(buffer, static_cast<std::size_t>(got));
        } else if (got == 0) {
            return data;
        } else if (errno != EINTR) {
            throw UsageError(std::string("cannot read input: ") + std::strerror(errno) + " (" +
                             name + ")");
        }
    }
}

} // namespace

std::string read_stdin() {
    return read_all(STDIN_FILENO, "stdin");
}

std::string read_file_or_stdin(const std::string& path) {
    if (path == "-") {
        return read_stdin();
    }
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        throw UsageError(std::string("cannot open input file: ") + std::strerror(errno) + " (" +
                         path + ")");
    }
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    return read_all(fd, path);
}

} // namespace cacheman::cli
