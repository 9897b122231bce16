#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/records.hpp"

namespace imagefactory {

// Records to write together: either all of them are stored or none is. Records are inserted
// or, when a record with the same id exists, replaced.
struct StoreBatch {
    std::vector<TemplateRecord> templates;
    std::vector<ImageRecord> images;
    std::vector<BuildRecord> builds;
    std::vector<TargetImageRecord> target_images;
    std::vector<ProviderImageRecord> provider_images;
};

// Durable metadata for templates, images, builds, target images and provider images, and the
// data directory holding image bodies. Implementations are safe to call from any thread. A
// lookup of an unknown id returns a NotFound error naming the id.
class ImageStore {
  public:
    virtual ~ImageStore() = default;

    virtual Status commit(const StoreBatch& batch) = 0;

    virtual Result<TemplateRecord> getTemplate(const std::string& id) = 0;
    virtual Result<ImageRecord> getImage(const std::string& id) = 0;
    virtual Result<BuildRecord> getBuild(const std::string& id) = 0;
    virtual Result<TargetImageRecord> getTargetImage(const std::string& id) = 0;
    virtual Result<ProviderImageRecord> getProviderImage(const std::string& id) = 0;

    virtual Result<std::vector<ImageRecord>> listImages() = 0;
    virtual Result<std::vector<BuildRecord>> buildsOfImage(const std::string& image_id) = 0;
    virtual Result<std::vector<TargetImageRecord>> targetImagesOfBuild(
        const std::string& build_id) = 0;
    virtual Result<std::vector<ProviderImageRecord>> providerImagesOfTargetImage(
        const std::string& target_image_id) = 0;

    // The provider image that provider knows as target_identifier, or nullopt.
    virtual Result<std::optional<ProviderImageRecord>> findProviderImage(
        const std::string& provider, const std::string& target_identifier) = 0;

    // Which kind of record id names, or NotFound.
    virtual Result<RecordKind> kindOf(const std::string& id) = 0;

    // Updates only the job state (and updated_at) of a target or provider image.
    virtual Status updateJobState(RecordKind kind, const std::string& id,
                                  const JobState& state) = 0;

    // Marks every target and provider image whose job is not COMPLETED or FAILED as FAILED with
    // failure type "Interrupted" and the given info. Returns how many were marked. Called once
    // at start-up, before any job runs.
    virtual Result<int> failInterruptedJobs(const std::string& info) = 0;

    // The data directory. Image bodies live below it; temporary files under tmpDir().
    virtual const std::filesystem::path& dataDir() const = 0;
    virtual std::filesystem::path tmpDir() const = 0;

    // Moves a finished file (which must be on the same file system, e.g. under tmpDir()) to
    // dataDir()/relative atomically, after syncing it, and returns the final path. A crash
    // leaves either no file at the final path or the whole file. A body counts as finished only
    // once a commit marks its target image COMPLETED with TargetImageRecord::file set to
    // relative, so install first and commit after.
    virtual Result<std::filesystem::path> installFile(const std::filesystem::path& finished,
                                                      const std::string& relative) = 0;
};

// Opens (creating when needed) the SQLite store in data_dir/imagefactory.db with write-ahead
// logging, and removes leftovers of interrupted writes from tmpDir().
Result<std::unique_ptr<ImageStore>> openSqliteImageStore(const std::filesystem::path& data_dir);

// Opens an existing store for reading while another process may hold it: takes no lock and
// leaves tmpDir() alone. Writing through it is allowed by SQLite but not coordinated with the
// lock holder, so callers only read.
Result<std::unique_ptr<ImageStore>> openSqliteImageStoreForReading(
    const std::filesystem::path& data_dir);

}  // namespace imagefactory
