#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "build/debian_builder.hpp"
#include "core/cancel.hpp"
#include "core/error.hpp"

namespace imagefactory {

// Finished base images keyed by template, under <dir>/<key>/{disk.raw,info.json}. An entry
// appears by one rename, so readers never see a half-written one. Safe to use from several
// threads and processes: one build per key runs at a time, the others wait for it and reuse it.
class BaseImageCache {
  public:
    struct Entry {
        std::filesystem::path disk;
        BaseImageInfo info;
        bool reused = false;
    };

    // Builds the image into the given folder's disk.raw and returns its record.
    using BuildFn = std::function<Result<BaseImageInfo>(const std::filesystem::path& disk)>;

    explicit BaseImageCache(std::filesystem::path dir);

    // The cache key of a template's canonical text: HMAC-SHA-256 under a random key kept in the
    // cache folder, so that a key does not let anyone test guesses of the root password.
    Result<std::string> keyFor(std::string_view canonical_text) const;

    // Returns the entry for key, running build in staging (a fresh folder on the cache's file
    // system) when there is none. Waiting for another build of the same key stops with an
    // Aborted error when token is cancelled.
    Result<Entry> getOrBuild(const std::string& key, const std::filesystem::path& staging,
                             CancelToken& token, const BuildFn& build) const;

    const std::filesystem::path& dir() const { return dir_; }

  private:
    Result<Entry> load(const std::string& key) const;

    std::filesystem::path dir_;
};

}  // namespace imagefactory
