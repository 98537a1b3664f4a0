#include "Input.hpp"

#include "base/Error.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cacheman::cli {

MappedInput::MappedInput(const std::string& path) {
    const std::string name = path == "-" ? "stdin" : path;
    int fd = STDIN_FILENO;
    if (path != "-") {
        fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            throw UsageError(std::string("cannot open input file: ") + std::strerror(errno) +
                             " (" + path + ")");
        }
    }
    struct Closer {
        int fd;
        ~Closer() {
            if (fd != STDIN_FILENO) {
                ::close(fd);
            }
        }
    } closer{fd};
    struct stat info {};
    if (fstat(fd, &info) == 0 && S_ISREG(info.st_mode) && info.st_uid == geteuid()) {
        map(fd, name);
        return;
    }
    m_copy.append_all(fd, name);
    map(m_copy.file(), name);
}

void MappedInput::map(int fd, const std::string& name) { m_file.emplace(fd, name); }

std::string_view MappedInput::data() const { return m_file ? m_file->data() : std::string_view(); }

void MappedInput::release(const char* read_up_to) {
    if (m_file) {
        m_file->release(read_up_to);
    }
}

} // namespace cacheman::cli
