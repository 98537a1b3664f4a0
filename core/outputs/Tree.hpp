// The files a step makes (`run --output PATH`): recording a declared output (a file, or a
// directory's whole tree) as a manifest whose file contents go to a content-addressed store, and
// restoring a manifest into place.
//
// Recording never follows a symbolic link: a link is recorded as a link, with its target text.
// Restoring writes only below the declared path: a manifest (which may come from a store that
// was tampered with) is checked first, and every step opens directories relative to the one
// above with O_NOFOLLOW, so no `..`, no absolute name and no symbolic link in the way can lead a
// write elsewhere; a link in the way is replaced, never followed. Files whose bytes and
// executable bit already match (by their recorded stamp, else by their hash) are left
// untouched (their mtime too); any other is written to a
// temporary name in its directory and renamed into place. A directory is made to match the
// manifest exactly. Walks are iterative: no recursion with the depth of a tree.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cacheman::outputs {

enum class Kind : unsigned char { file = 1, directory = 2, symlink = 3 };

struct Node {
    std::string path;       // relative to the declared output; "" is the output itself
    Kind kind = Kind::file;
    bool executable = false; // a file's owner-execute bit
    std::uint64_t size = 0;  // a file's bytes
    std::string digest;      // a file's content address (32 hex digits, XXH3-128)
    std::string target;      // a symbolic link's target text
    // A file's or directory's stamp when it was recorded (device, inode, size, mode, mtime
    // and ctime), or "" when it could not be trusted: a file that still has it holds the
    // recorded bytes, so a hit leaves it alone without reading it; a directory that still has
    // it holds the recorded names and no others, so a hit does not list it. (A change of the
    // bytes or of the names changes the ctime, which no one can set back; a node is stamped
    // only once the clock has passed its ctime, so a change after recording cannot keep it.)
    std::string stamp;
    friend bool operator==(const Node&, const Node&) = default;
};

// One declared output: its nodes in byte order of their paths (so each directory comes before
// what is in it).
struct Manifest {
    std::string declared; // the path as declared (relative to the working directory, or absolute)
    std::vector<Node> nodes;
    friend bool operator==(const Manifest&, const Manifest&) = default;
    [[nodiscard]] std::uint64_t bytes() const;
};

// Where file contents live, by content address: the store's table of contents (a map in tests).
class Contents {
  public:
    virtual ~Contents() = default;
    Contents() = default;
    Contents(const Contents&) = delete;
    Contents& operator=(const Contents&) = delete;
    // Keeps the `size` bytes read from `fd` (at its start) under `digest`, unless it holds
    // them already.
    virtual void put(const std::string& digest, int fd, std::uint64_t size) = 0;
    // Writes the bytes kept under `digest` to `fd`. Throws StoreError when there are none.
    virtual void get(const std::string& digest, int fd) = 0;
};

// The content address of the bytes of a file open at `fd` (read from its start to its end).
std::string digest_of(int fd, std::uint64_t* size = nullptr);

// Records what is at `declared` (relative to `cwd` unless absolute), storing each file's
// contents. nullopt when nothing is there. Throws UsageError when it cannot be read.
std::optional<Manifest> record(const std::string& cwd, const std::string& declared,
                               Contents& contents);

// Throws StoreError when the manifest could write outside its declared path or is not a tree:
// a path with an empty, "." or ".." component, an absolute or NUL-carrying path, a node whose
// parent is not a directory of the manifest, a duplicate, or nodes out of order.
void validate(const Manifest& manifest);

// Makes `declared` (relative to `cwd` unless absolute) match the manifest (validated first).
// Throws StoreError when it cannot.
void restore(const std::string& cwd, const Manifest& manifest, Contents& contents);

} // namespace cacheman::outputs
