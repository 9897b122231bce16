#include "store/sqlite_records.hpp"

#include <array>
#include <optional>

namespace imagefactory {

namespace {

constexpr std::array<RecordKind, 5> kAllKinds = {
    RecordKind::Template,    RecordKind::Image,         RecordKind::Build,
    RecordKind::TargetImage, RecordKind::ProviderImage,
};

// The kind as a message names it ("target image"); recordKindName() is the stored spelling.
std::string kindLabel(RecordKind kind) {
    switch (kind) {
        case RecordKind::Template:
            return "template";
        case RecordKind::Image:
            return "image";
        case RecordKind::Build:
            return "build";
        case RecordKind::TargetImage:
            return "target image";
        case RecordKind::ProviderImage:
            return "provider image";
    }
    return "record";
}

std::optional<RecordKind> parseKind(std::string_view name) {
    for (RecordKind kind : kAllKinds) {
        if (recordKindName(kind) == name) {
            return kind;
        }
    }
    return std::nullopt;
}

Error inContext(const Error& error, const std::string& context) {
    return Error{error.code, context + ": " + error.message};
}

std::string storeContext(RecordKind kind, const std::string& id) {
    return "cannot store " + kindLabel(kind) + " " + id;
}

// Steps a statement that returns no rows.
Status execute(SqliteStatement& statement) {
    Result<bool> row = statement.step();
    if (!row.ok()) {
        return row.error();
    }
    return okStatus();
}

// Records id as a record of kind, failing when it is empty or already names another kind.
Status claimId(SqliteConnection& db, RecordKind kind, const std::string& id) {
    if (id.empty()) {
        return userError("cannot store a " + kindLabel(kind) + " with an empty id");
    }

    Result<SqliteStatement> select = db.prepare("SELECT kind FROM record_ids WHERE id = ?1");
    if (!select.ok()) {
        return select.error();
    }
    select->bind(1, id);
    Result<bool> row = select->step();
    if (!row.ok()) {
        return inContext(row.error(), storeContext(kind, id));
    }
    if (row.value()) {
        std::string stored = select->text(0);
        if (stored == recordKindName(kind)) {
            return okStatus();
        }
        std::optional<RecordKind> stored_kind = parseKind(stored);
        return userError(storeContext(kind, id) + ": the id already names a " +
                         (stored_kind ? kindLabel(*stored_kind) : stored));
    }

    Result<SqliteStatement> insert =
        db.prepare("INSERT INTO record_ids (id, kind) VALUES (?1, ?2)");
    if (!insert.ok()) {
        return insert.error();
    }
    insert->bind(1, id).bind(2, recordKindName(kind));
    Status inserted = execute(*insert);
    if (!inserted.ok()) {
        return inContext(inserted.error(), storeContext(kind, id));
    }
    return okStatus();
}

Status requireReference(RecordKind kind, const std::string& id, const char* field,
                        const std::string& value) {
    if (value.empty()) {
        return userError(storeContext(kind, id) + ": " + field + " is empty");
    }
    return okStatus();
}

TimestampMs createdAt(TimestampMs record_created_at, TimestampMs now) {
    return record_created_at != 0 ? record_created_at : now;
}

// Claims the id, binds the row through bind_row and runs the upsert statement sql.
template <typename BindRow>
Status upsert(SqliteConnection& db, RecordKind kind, const std::string& id, const char* sql,
              BindRow bind_row) {
    Status claimed = claimId(db, kind, id);
    if (!claimed.ok()) {
        return claimed;
    }
    Result<SqliteStatement> statement = db.prepare(sql);
    if (!statement.ok()) {
        return statement.error();
    }
    bind_row(*statement);
    Status written = execute(*statement);
    if (!written.ok()) {
        return inContext(written.error(), storeContext(kind, id));
    }
    return okStatus();
}

Result<JobState> jobFromRow(const SqliteStatement& row, int first_column) {
    JobState job;
    std::string status = row.text(first_column);
    std::optional<JobStatus> parsed = parseJobStatus(status);
    if (!parsed) {
        return internalError("stored job status \"" + status + "\" is not a known status");
    }
    job.status = *parsed;
    job.percent_complete = static_cast<int>(row.integer(first_column + 1));
    job.failure_type = row.text(first_column + 2);
    job.failure_info = row.text(first_column + 3);
    return job;
}

void bindJob(SqliteStatement& statement, int first_index, const JobState& job) {
    statement.bind(first_index, jobStatusName(job.status))
        .bind(first_index + 1, static_cast<int64_t>(job.percent_complete))
        .bind(first_index + 2, job.failure_type)
        .bind(first_index + 3, job.failure_info);
}

Result<TemplateRecord> templateFromRow(const SqliteStatement& row) {
    TemplateRecord record;
    record.id = row.text(0);
    record.xml = row.text(1);
    record.created_at = row.integer(2);
    return record;
}

Result<ImageRecord> imageFromRow(const SqliteStatement& row) {
    ImageRecord record;
    record.id = row.text(0);
    record.name = row.text(1);
    record.description = row.text(2);
    record.template_id = row.text(3);
    record.latest_build = row.text(4);
    record.latest_unpushed = row.text(5);
    record.created_at = row.integer(6);
    record.updated_at = row.integer(7);
    return record;
}

Result<BuildRecord> buildFromRow(const SqliteStatement& row) {
    BuildRecord record;
    record.id = row.text(0);
    record.image_id = row.text(1);
    record.parent_id = row.text(2);
    record.created_at = row.integer(3);
    record.updated_at = row.integer(4);
    return record;
}

Result<TargetImageRecord> targetImageFromRow(const SqliteStatement& row) {
    TargetImageRecord record;
    record.id = row.text(0);
    record.build_id = row.text(1);
    record.target = row.text(2);
    record.template_id = row.text(3);
    record.parameters = row.text(4);
    record.file = row.text(5);
    Result<JobState> job = jobFromRow(row, 6);
    if (!job.ok()) {
        return inContext(job.error(), "target image " + record.id);
    }
    record.job = job.value();
    record.created_at = row.integer(10);
    record.updated_at = row.integer(11);
    return record;
}

Result<ProviderImageRecord> providerImageFromRow(const SqliteStatement& row) {
    ProviderImageRecord record;
    record.id = row.text(0);
    record.target_image_id = row.text(1);
    record.provider = row.text(2);
    record.target_identifier = row.text(3);
    record.provider_account_identifier = row.text(4);
    record.parameters = row.text(5);
    Result<JobState> job = jobFromRow(row, 6);
    if (!job.ok()) {
        return inContext(job.error(), "provider image " + record.id);
    }
    record.job = job.value();
    record.created_at = row.integer(10);
    record.updated_at = row.integer(11);
    return record;
}

// Runs sql with id bound to ?1 and converts the one row it returns, or fails with NotFound.
template <typename FromRow>
auto readOne(SqliteConnection& db, RecordKind kind, const char* sql, const std::string& id,
             FromRow from_row) -> decltype(from_row(std::declval<const SqliteStatement&>())) {
    Result<SqliteStatement> statement = db.prepare(sql);
    if (!statement.ok()) {
        return statement.error();
    }
    statement->bind(1, id);
    Result<bool> row = statement->step();
    if (!row.ok()) {
        return inContext(row.error(), "cannot read " + kindLabel(kind) + " " + id);
    }
    if (!row.value()) {
        return notFound(kindLabel(kind) + " " + id + " not found");
    }
    return from_row(*statement);
}

// Runs sql with key bound to ?1 and converts every row it returns.
template <typename Record, typename FromRow>
Result<std::vector<Record>> readList(SqliteConnection& db, const char* sql, const std::string& key,
                                     FromRow from_row) {
    Result<SqliteStatement> statement = db.prepare(sql);
    if (!statement.ok()) {
        return statement.error();
    }
    if (!key.empty()) {
        statement->bind(1, key);
    }

    std::vector<Record> records;
    while (true) {
        Result<bool> row = statement->step();
        if (!row.ok()) {
            return inContext(row.error(), "cannot read records");
        }
        if (!row.value()) {
            break;
        }
        Result<Record> record = from_row(*statement);
        if (!record.ok()) {
            return record.error();
        }
        records.push_back(std::move(record.value()));
    }
    return records;
}

// One reference from a record of a batch to the record it depends on.
struct Reference {
    RecordKind owner_kind;
    const std::string* owner_id;
    const char* field;
    RecordKind target_kind;
    const std::string* target_id;
};

std::vector<Reference> referencesOf(const StoreBatch& batch) {
    std::vector<Reference> references;
    for (const ImageRecord& image : batch.images) {
        references.push_back({RecordKind::Image, &image.id, "template_id", RecordKind::Template,
                              &image.template_id});
        references.push_back(
            {RecordKind::Image, &image.id, "latest_build", RecordKind::Build, &image.latest_build});
        references.push_back({RecordKind::Image, &image.id, "latest_unpushed", RecordKind::Build,
                              &image.latest_unpushed});
    }
    for (const BuildRecord& build : batch.builds) {
        references.push_back(
            {RecordKind::Build, &build.id, "image_id", RecordKind::Image, &build.image_id});
        references.push_back(
            {RecordKind::Build, &build.id, "parent_id", RecordKind::Build, &build.parent_id});
    }
    for (const TargetImageRecord& target_image : batch.target_images) {
        references.push_back({RecordKind::TargetImage, &target_image.id, "build_id",
                              RecordKind::Build, &target_image.build_id});
        references.push_back({RecordKind::TargetImage, &target_image.id, "template_id",
                              RecordKind::Template, &target_image.template_id});
    }
    for (const ProviderImageRecord& provider_image : batch.provider_images) {
        references.push_back({RecordKind::ProviderImage, &provider_image.id, "target_image_id",
                              RecordKind::TargetImage, &provider_image.target_image_id});
    }
    return references;
}

}  // namespace

Status writeTemplate(SqliteConnection& db, const TemplateRecord& record, TimestampMs now) {
    return upsert(db, RecordKind::Template, record.id,
                  "INSERT INTO templates (id, xml, created_at) VALUES (?1, ?2, ?3) "
                  "ON CONFLICT (id) DO UPDATE SET xml = excluded.xml",
                  [&](SqliteStatement& statement) {
                      statement.bind(1, record.id)
                          .bind(2, record.xml)
                          .bind(3, createdAt(record.created_at, now));
                  });
}

Status writeImage(SqliteConnection& db, const ImageRecord& record, TimestampMs now) {
    return upsert(db, RecordKind::Image, record.id,
                  "INSERT INTO images (id, name, description, template_id, latest_build, "
                  "latest_unpushed, created_at, updated_at) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
                  "ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
                  "description = excluded.description, template_id = excluded.template_id, "
                  "latest_build = excluded.latest_build, "
                  "latest_unpushed = excluded.latest_unpushed, updated_at = excluded.updated_at",
                  [&](SqliteStatement& statement) {
                      statement.bind(1, record.id)
                          .bind(2, record.name)
                          .bind(3, record.description)
                          .bindOptional(4, record.template_id)
                          .bindOptional(5, record.latest_build)
                          .bindOptional(6, record.latest_unpushed)
                          .bind(7, createdAt(record.created_at, now))
                          .bind(8, now);
                  });
}

Status writeBuild(SqliteConnection& db, const BuildRecord& record, TimestampMs now) {
    Status image = requireReference(RecordKind::Build, record.id, "image_id", record.image_id);
    if (!image.ok()) {
        return image;
    }
    return upsert(db, RecordKind::Build, record.id,
                  "INSERT INTO builds (id, image_id, parent_id, created_at, updated_at) "
                  "VALUES (?1, ?2, ?3, ?4, ?5) "
                  "ON CONFLICT (id) DO UPDATE SET image_id = excluded.image_id, "
                  "parent_id = excluded.parent_id, updated_at = excluded.updated_at",
                  [&](SqliteStatement& statement) {
                      statement.bind(1, record.id)
                          .bind(2, record.image_id)
                          .bindOptional(3, record.parent_id)
                          .bind(4, createdAt(record.created_at, now))
                          .bind(5, now);
                  });
}

Status writeTargetImage(SqliteConnection& db, const TargetImageRecord& record, TimestampMs now) {
    Status build =
        requireReference(RecordKind::TargetImage, record.id, "build_id", record.build_id);
    if (!build.ok()) {
        return build;
    }
    return upsert(db, RecordKind::TargetImage, record.id,
                  "INSERT INTO target_images (id, build_id, target, template_id, parameters, "
                  "file, status, percent_complete, failure_type, failure_info, created_at, "
                  "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
                  "ON CONFLICT (id) DO UPDATE SET build_id = excluded.build_id, "
                  "target = excluded.target, template_id = excluded.template_id, "
                  "parameters = excluded.parameters, file = excluded.file, "
                  "status = excluded.status, percent_complete = excluded.percent_complete, "
                  "failure_type = excluded.failure_type, failure_info = excluded.failure_info, "
                  "updated_at = excluded.updated_at",
                  [&](SqliteStatement& statement) {
                      statement.bind(1, record.id)
                          .bind(2, record.build_id)
                          .bind(3, record.target)
                          .bindOptional(4, record.template_id)
                          .bind(5, record.parameters)
                          .bind(6, record.file);
                      bindJob(statement, 7, record.job);
                      statement.bind(11, createdAt(record.created_at, now)).bind(12, now);
                  });
}

Status writeProviderImage(SqliteConnection& db, const ProviderImageRecord& record,
                          TimestampMs now) {
    Status target_image = requireReference(RecordKind::ProviderImage, record.id, "target_image_id",
                                           record.target_image_id);
    if (!target_image.ok()) {
        return target_image;
    }
    return upsert(db, RecordKind::ProviderImage, record.id,
                  "INSERT INTO provider_images (id, target_image_id, provider, "
                  "target_identifier, provider_account_identifier, parameters, status, "
                  "percent_complete, failure_type, failure_info, created_at, updated_at) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
                  "ON CONFLICT (id) DO UPDATE SET target_image_id = excluded.target_image_id, "
                  "provider = excluded.provider, target_identifier = excluded.target_identifier, "
                  "provider_account_identifier = excluded.provider_account_identifier, "
                  "parameters = excluded.parameters, status = excluded.status, "
                  "percent_complete = excluded.percent_complete, "
                  "failure_type = excluded.failure_type, failure_info = excluded.failure_info, "
                  "updated_at = excluded.updated_at",
                  [&](SqliteStatement& statement) {
                      statement.bind(1, record.id)
                          .bind(2, record.target_image_id)
                          .bind(3, record.provider)
                          .bind(4, record.target_identifier)
                          .bind(5, record.provider_account_identifier)
                          .bind(6, record.parameters);
                      bindJob(statement, 7, record.job);
                      statement.bind(11, createdAt(record.created_at, now)).bind(12, now);
                  });
}

Status checkReferences(SqliteConnection& db, const StoreBatch& batch) {
    for (const Reference& reference : referencesOf(batch)) {
        if (reference.target_id->empty()) {
            continue;
        }
        Result<SqliteStatement> statement =
            db.prepare("SELECT 1 FROM record_ids WHERE id = ?1 AND kind = ?2");
        if (!statement.ok()) {
            return statement.error();
        }
        statement->bind(1, *reference.target_id).bind(2, recordKindName(reference.target_kind));
        Result<bool> found = statement->step();
        if (!found.ok()) {
            return inContext(found.error(),
                             storeContext(reference.owner_kind, *reference.owner_id));
        }
        if (!found.value()) {
            return notFound(storeContext(reference.owner_kind, *reference.owner_id) + ": its " +
                            reference.field + " " + *reference.target_id + " is not a stored " +
                            kindLabel(reference.target_kind));
        }
    }
    return okStatus();
}

Result<TemplateRecord> readTemplate(SqliteConnection& db, const std::string& id) {
    return readOne(db, RecordKind::Template,
                   "SELECT id, xml, created_at FROM templates WHERE id = ?1", id, templateFromRow);
}

Result<ImageRecord> readImage(SqliteConnection& db, const std::string& id) {
    return readOne(db, RecordKind::Image,
                   "SELECT id, name, description, template_id, latest_build, latest_unpushed, "
                   "created_at, updated_at FROM images WHERE id = ?1",
                   id, imageFromRow);
}

Result<BuildRecord> readBuild(SqliteConnection& db, const std::string& id) {
    return readOne(db, RecordKind::Build,
                   "SELECT id, image_id, parent_id, created_at, updated_at FROM builds "
                   "WHERE id = ?1",
                   id, buildFromRow);
}

Result<TargetImageRecord> readTargetImage(SqliteConnection& db, const std::string& id) {
    return readOne(db, RecordKind::TargetImage,
                   "SELECT id, build_id, target, template_id, parameters, file, status, "
                   "percent_complete, failure_type, failure_info, created_at, updated_at "
                   "FROM target_images WHERE id = ?1",
                   id, targetImageFromRow);
}

Result<ProviderImageRecord> readProviderImage(SqliteConnection& db, const std::string& id) {
    return readOne(db, RecordKind::ProviderImage,
                   "SELECT id, target_image_id, provider, target_identifier, "
                   "provider_account_identifier, parameters, status, percent_complete, "
                   "failure_type, failure_info, created_at, updated_at "
                   "FROM provider_images WHERE id = ?1",
                   id, providerImageFromRow);
}

Result<std::vector<ImageRecord>> readAllImages(SqliteConnection& db) {
    return readList<ImageRecord>(
        db,
        "SELECT id, name, description, template_id, latest_build, latest_unpushed, created_at, "
        "updated_at FROM images ORDER BY created_at, rowid",
        "", imageFromRow);
}

Result<std::vector<BuildRecord>> readBuildsOfImage(SqliteConnection& db,
                                                   const std::string& image_id) {
    return readList<BuildRecord>(db,
                                 "SELECT id, image_id, parent_id, created_at, updated_at "
                                 "FROM builds WHERE image_id = ?1 ORDER BY created_at, rowid",
                                 image_id, buildFromRow);
}

Result<std::vector<TargetImageRecord>> readTargetImagesOfBuild(SqliteConnection& db,
                                                               const std::string& build_id) {
    return readList<TargetImageRecord>(
        db,
        "SELECT id, build_id, target, template_id, parameters, file, status, percent_complete, "
        "failure_type, failure_info, created_at, updated_at "
        "FROM target_images WHERE build_id = ?1 ORDER BY created_at, rowid",
        build_id, targetImageFromRow);
}

Result<std::vector<ProviderImageRecord>> readProviderImagesOfTargetImage(
    SqliteConnection& db, const std::string& target_image_id) {
    return readList<ProviderImageRecord>(
        db,
        "SELECT id, target_image_id, provider, target_identifier, provider_account_identifier, "
        "parameters, status, percent_complete, failure_type, failure_info, created_at, "
        "updated_at FROM provider_images WHERE target_image_id = ?1 "
        "ORDER BY created_at, rowid",
        target_image_id, providerImageFromRow);
}

Result<std::vector<ProviderImageRecord>> readProviderImagesByIdentifier(
    SqliteConnection& db, const std::string& target_identifier) {
    return readList<ProviderImageRecord>(
        db,
        "SELECT id, target_image_id, provider, target_identifier, provider_account_identifier, "
        "parameters, status, percent_complete, failure_type, failure_info, created_at, "
        "updated_at FROM provider_images WHERE target_identifier = ?1 "
        "ORDER BY created_at, rowid",
        target_identifier, providerImageFromRow);
}

Result<RecordKind> readKind(SqliteConnection& db, const std::string& id) {
    Result<SqliteStatement> statement = db.prepare("SELECT kind FROM record_ids WHERE id = ?1");
    if (!statement.ok()) {
        return statement.error();
    }
    statement->bind(1, id);
    Result<bool> row = statement->step();
    if (!row.ok()) {
        return inContext(row.error(), "cannot look up record " + id);
    }
    if (!row.value()) {
        return notFound("record " + id + " not found");
    }
    std::string name = statement->text(0);
    std::optional<RecordKind> kind = parseKind(name);
    if (!kind) {
        return internalError("record " + id + " has the unknown kind \"" + name + "\"");
    }
    return *kind;
}

Status writeJobState(SqliteConnection& db, RecordKind kind, const std::string& id,
                     const JobState& state, TimestampMs now) {
    const char* sql = nullptr;
    if (kind == RecordKind::TargetImage) {
        sql =
            "UPDATE target_images SET status = ?2, percent_complete = ?3, failure_type = ?4, "
            "failure_info = ?5, updated_at = ?6 WHERE id = ?1";
    } else if (kind == RecordKind::ProviderImage) {
        sql =
            "UPDATE provider_images SET status = ?2, percent_complete = ?3, "
            "failure_type = ?4, failure_info = ?5, updated_at = ?6 WHERE id = ?1";
    } else {
        return userError("cannot update the job state of " + kindLabel(kind) + " " + id +
                         ": only target and provider images have a job");
    }

    Result<SqliteStatement> statement = db.prepare(sql);
    if (!statement.ok()) {
        return statement.error();
    }
    statement->bind(1, id);
    bindJob(*statement, 2, state);
    statement->bind(6, now);
    Status updated = execute(*statement);
    if (!updated.ok()) {
        return inContext(updated.error(),
                         "cannot update the job state of " + kindLabel(kind) + " " + id);
    }
    if (db.changes() == 0) {
        return notFound(kindLabel(kind) + " " + id + " not found");
    }
    return okStatus();
}

Result<int> failUnfinishedJobs(SqliteConnection& db, const std::string& info, TimestampMs now) {
    constexpr std::array<const char*, 2> kStatements = {
        "UPDATE target_images SET status = 'FAILED', failure_type = 'Interrupted', "
        "failure_info = ?1, updated_at = ?2 WHERE status NOT IN ('COMPLETED', 'FAILED')",
        "UPDATE provider_images SET status = 'FAILED', failure_type = 'Interrupted', "
        "failure_info = ?1, updated_at = ?2 WHERE status NOT IN ('COMPLETED', 'FAILED')",
    };

    int failed = 0;
    for (const char* sql : kStatements) {
        Result<SqliteStatement> statement = db.prepare(sql);
        if (!statement.ok()) {
            return statement.error();
        }
        statement->bind(1, info).bind(2, now);
        Status updated = execute(*statement);
        if (!updated.ok()) {
            return inContext(updated.error(), "cannot mark interrupted jobs failed");
        }
        failed += db.changes();
    }
    return failed;
}

}  // namespace imagefactory
