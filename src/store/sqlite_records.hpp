#pragma once

#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/records.hpp"
#include "store/image_store.hpp"
#include "store/sqlite_connection.hpp"

namespace imagefactory {

// Row-level reads and writes of the store's tables. The caller holds the connection's lock
// and, for writes that belong together, an open transaction. Errors name the record id.

// Inserts the record or replaces the stored one with the same id, keeping its created_at. A
// created_at of 0 means now; updated_at is always set to now. Fails when the id is empty or
// already names a record of another kind.
Status writeTemplate(SqliteConnection& db, const TemplateRecord& record, TimestampMs now);
Status writeImage(SqliteConnection& db, const ImageRecord& record, TimestampMs now);
Status writeBuild(SqliteConnection& db, const BuildRecord& record, TimestampMs now);
Status writeTargetImage(SqliteConnection& db, const TargetImageRecord& record, TimestampMs now);
Status writeProviderImage(SqliteConnection& db, const ProviderImageRecord& record, TimestampMs now);

// Fails with NotFound naming the record and the reference when a record of batch refers to an
// id that is not stored as a record of the expected kind.
Status checkReferences(SqliteConnection& db, const StoreBatch& batch);

Result<TemplateRecord> readTemplate(SqliteConnection& db, const std::string& id);
Result<ImageRecord> readImage(SqliteConnection& db, const std::string& id);
Result<BuildRecord> readBuild(SqliteConnection& db, const std::string& id);
Result<TargetImageRecord> readTargetImage(SqliteConnection& db, const std::string& id);
Result<ProviderImageRecord> readProviderImage(SqliteConnection& db, const std::string& id);

// Lists are ordered by created_at, ties in the order the records were first stored.
Result<std::vector<ImageRecord>> readAllImages(SqliteConnection& db);
Result<std::vector<BuildRecord>> readBuildsOfImage(SqliteConnection& db,
                                                   const std::string& image_id);
Result<std::vector<TargetImageRecord>> readTargetImagesOfBuild(SqliteConnection& db,
                                                               const std::string& build_id);
// Provider images whose target_identifier equals the given one (never empty).
Result<std::vector<ProviderImageRecord>> readProviderImagesByIdentifier(
    SqliteConnection& db, const std::string& target_identifier);
Result<std::vector<ProviderImageRecord>> readProviderImagesOfTargetImage(
    SqliteConnection& db, const std::string& target_image_id);

Result<RecordKind> readKind(SqliteConnection& db, const std::string& id);

// Sets the job columns and updated_at of one target or provider image.
Status writeJobState(SqliteConnection& db, RecordKind kind, const std::string& id,
                     const JobState& state, TimestampMs now);

// Marks every target and provider image whose job is not COMPLETED or FAILED as FAILED with
// failure type "Interrupted" and returns how many rows changed.
Result<int> failUnfinishedJobs(SqliteConnection& db, const std::string& info, TimestampMs now);

}  // namespace imagefactory
