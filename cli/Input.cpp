#include "Input.hpp"

#include "base/Error.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
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

void MappedInput::map(int fd, const std::string& name) {
    struct stat info {};
    if (fstat(fd, &info) != 0) {
        throw UsageError(std::string("cannot read input: ") + std::strerror(errno) + " (" + name +
                         ")");
    }
    m_size = static_cast<std::size_t>(info.st_size);
    if (m_size == 0) {
        return;
    }
    m_map = ::mmap(nullptr, m_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m_map == MAP_FAILED) {
        m_map = nullptr;
        m_size = 0;
        throw UsageError(std::string("cannot read input: ") + std::strerror(errno) + " (" + name +
                         ")");
    }
    (void)::madvise(m_map, m_size, MADV_SEQUENTIAL);
}

MappedInput::~MappedInput() {
    if (m_map != nullptr) {
        ::munmap(m_map, m_size);
    }
}

void MappedInput::release(const char* read_up_to) {
    if (m_map == nullptr) {
        return;
    }
    static const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    const auto offset = static_cast<std::size_t>(read_up_to - static_cast<const char*>(m_map));
    const std::size_t boundary = offset / page * page;
    if (boundary < m_released) {
        m_released = 0; // read again from an earlier place (the lines were counted first)
    }
    if (boundary == m_released) {
        return;
    }
    (void)::madvise(static_cast<char*>(m_map) + m_released, boundary - m_released,
                    MADV_DONTNEED);
    m_released = boundary;
}

} // namespace cacheman::cli
