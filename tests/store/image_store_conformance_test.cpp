// The behaviour every ImageStore implementation must have, run over each of them.

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "store/image_store.hpp"
#include "store_test_support.hpp"

namespace imagefactory {
namespace {

using testing::makeLineage;
using testing::TempDir;

struct StoreImplementation {
    std::string name;
    std::function<Result<std::unique_ptr<ImageStore>>(const std::filesystem::path&)> open;
};

// Lets GoogleTest and ctest show the implementation by name, not as bytes.
void PrintTo(const StoreImplementation& implementation, std::ostream* out) {
    *out << implementation.name;
}

std::string implementationName(const ::testing::TestParamInfo<StoreImplementation>& info) {
    return info.param.name;
}

class ImageStoreConformanceTest : public ::testing::TestWithParam<StoreImplementation> {
  protected:
    void SetUp() override {
        ASSERT_FALSE(dir_.path().empty());
        reopen();
    }

    // Closes the store, if open, and opens it again on the same data directory.
    void reopen() {
        store_.reset();
        Result<std::unique_ptr<ImageStore>> opened = GetParam().open(dir_.path() / "data");
        ASSERT_TRUE(opened.ok()) << opened.error().message;
        store_ = std::move(opened.value());
    }

    void commitOrFail(const StoreBatch& batch) {
        Status committed = store_->commit(batch);
        ASSERT_TRUE(committed.ok()) << committed.error().message;
    }

    TempDir dir_;
    std::unique_ptr<ImageStore> store_;
};

TEST_P(ImageStoreConformanceTest, RoundTripsTemplate) {
    StoreBatch batch = makeLineage("a");
    batch.templates[0].created_at = 1000;
    commitOrFail(batch);

    Result<TemplateRecord> stored = store_->getTemplate("a-template");
    ASSERT_TRUE(stored.ok()) << stored.error().message;
    EXPECT_EQ(stored->id, "a-template");
    EXPECT_EQ(stored->xml, batch.templates[0].xml);
    EXPECT_EQ(stored->created_at, 1000);
}

TEST_P(ImageStoreConformanceTest, RoundTripsImage) {
    StoreBatch batch = makeLineage("a");
    batch.images[0].created_at = 2000;
    commitOrFail(batch);

    Result<ImageRecord> stored = store_->getImage("a-image");
    ASSERT_TRUE(stored.ok()) << stored.error().message;
    EXPECT_EQ(stored->id, "a-image");
    EXPECT_EQ(stored->name, "a");
    EXPECT_EQ(stored->description, batch.images[0].description);
    EXPECT_EQ(stored->template_id, "a-template");
    EXPECT_EQ(stored->latest_build, "a-build");
    EXPECT_EQ(stored->latest_unpushed, "a-build");
    EXPECT_EQ(stored->created_at, 2000);
    EXPECT_GT(stored->updated_at, 0);
}

TEST_P(ImageStoreConformanceTest, RoundTripsImportedImageWithoutReferences) {
    ImageRecord image;
    image.id = "imported";
    image.description = "<image><name>x</name></image>";
    commitOrFail(StoreBatch{.images = {image}});

    Result<ImageRecord> stored = store_->getImage("imported");
    ASSERT_TRUE(stored.ok()) << stored.error().message;
    EXPECT_EQ(stored->template_id, "");
    EXPECT_EQ(stored->latest_build, "");
    EXPECT_EQ(stored->latest_unpushed, "");
}

TEST_P(ImageStoreConformanceTest, RoundTripsBuild) {
    StoreBatch batch = makeLineage("a");
    BuildRecord second;
    second.id = "a-build-2";
    second.image_id = "a-image";
    second.parent_id = "a-build";
    batch.builds.push_back(second);
    commitOrFail(batch);

    Result<BuildRecord> stored = store_->getBuild("a-build-2");
    ASSERT_TRUE(stored.ok()) << stored.error().message;
    EXPECT_EQ(stored->id, "a-build-2");
    EXPECT_EQ(stored->image_id, "a-image");
    EXPECT_EQ(stored->parent_id, "a-build");
    EXPECT_GT(stored->created_at, 0);
}

TEST_P(ImageStoreConformanceTest, RoundTripsTargetImage) {
    StoreBatch batch = makeLineage("a");
    batch.target_images[0].job = {JobStatus::Failed, 70, "BuildError", "qemu-img failed"};
    commitOrFail(batch);

    Result<TargetImageRecord> stored = store_->getTargetImage("a-target-image");
    ASSERT_TRUE(stored.ok()) << stored.error().message;
    EXPECT_EQ(stored->id, "a-target-image");
    EXPECT_EQ(stored->build_id, "a-build");
    EXPECT_EQ(stored->target, "ec2");
    EXPECT_EQ(stored->template_id, "a-template");
    EXPECT_EQ(stored->parameters, R"({"disk_size":"10G"})");
    EXPECT_EQ(stored->file, "");
    EXPECT_EQ(stored->job.status, JobStatus::Failed);
    EXPECT_EQ(stored->job.percent_complete, 70);
    EXPECT_EQ(stored->job.failure_type, "BuildError");
    EXPECT_EQ(stored->job.failure_info, "qemu-img failed");
}

TEST_P(ImageStoreConformanceTest, RoundTripsCompletedTargetImageWithFile) {
    StoreBatch batch = makeLineage("a");
    batch.target_images[0].job = {JobStatus::Completed, 100, "", ""};
    batch.target_images[0].file = "images/a-target-image.body";
    commitOrFail(batch);

    Result<TargetImageRecord> stored = store_->getTargetImage("a-target-image");
    ASSERT_TRUE(stored.ok()) << stored.error().message;
    EXPECT_EQ(stored->file, "images/a-target-image.body");
    EXPECT_EQ(stored->job.status, JobStatus::Completed);
}

TEST_P(ImageStoreConformanceTest, RoundTripsProviderImage) {
    StoreBatch batch = makeLineage("a");
    commitOrFail(batch);

    Result<ProviderImageRecord> stored = store_->getProviderImage("a-provider-image");
    ASSERT_TRUE(stored.ok()) << stored.error().message;
    EXPECT_EQ(stored->id, "a-provider-image");
    EXPECT_EQ(stored->target_image_id, "a-target-image");
    EXPECT_EQ(stored->provider, "ec2-us-east-1");
    EXPECT_EQ(stored->target_identifier, "ami-0123");
    EXPECT_EQ(stored->provider_account_identifier, "builder");
    EXPECT_EQ(stored->parameters, "{}");
    EXPECT_EQ(stored->job.status, JobStatus::Pending);
    EXPECT_EQ(stored->job.percent_complete, 0);
}

TEST_P(ImageStoreConformanceTest, RoundTripsEveryJobStatus) {
    commitOrFail(makeLineage("a"));
    for (JobStatus status :
         {JobStatus::New, JobStatus::Pending, JobStatus::Building, JobStatus::Pushing,
          JobStatus::Finishing, JobStatus::Completed, JobStatus::Failed}) {
        Status updated = store_->updateJobState(RecordKind::ProviderImage, "a-provider-image",
                                                JobState{status, 10, "", ""});
        ASSERT_TRUE(updated.ok()) << updated.error().message;
        Result<ProviderImageRecord> stored = store_->getProviderImage("a-provider-image");
        ASSERT_TRUE(stored.ok()) << stored.error().message;
        EXPECT_EQ(stored->job.status, status) << jobStatusName(status);
    }
}

TEST_P(ImageStoreConformanceTest, SurvivesReopen) {
    commitOrFail(makeLineage("a"));
    reopen();

    Result<TargetImageRecord> stored = store_->getTargetImage("a-target-image");
    ASSERT_TRUE(stored.ok()) << stored.error().message;
    EXPECT_EQ(stored->job.status, JobStatus::Building);
}

TEST_P(ImageStoreConformanceTest, ListsLineage) {
    commitOrFail(makeLineage("a"));
    commitOrFail(makeLineage("b"));

    Result<std::vector<BuildRecord>> builds = store_->buildsOfImage("a-image");
    ASSERT_TRUE(builds.ok()) << builds.error().message;
    ASSERT_EQ(builds->size(), 1u);
    EXPECT_EQ((*builds)[0].id, "a-build");

    Result<std::vector<TargetImageRecord>> target_images = store_->targetImagesOfBuild("b-build");
    ASSERT_TRUE(target_images.ok()) << target_images.error().message;
    ASSERT_EQ(target_images->size(), 1u);
    EXPECT_EQ((*target_images)[0].id, "b-target-image");

    Result<std::vector<ProviderImageRecord>> provider_images =
        store_->providerImagesOfTargetImage("a-target-image");
    ASSERT_TRUE(provider_images.ok()) << provider_images.error().message;
    ASSERT_EQ(provider_images->size(), 1u);
    EXPECT_EQ((*provider_images)[0].id, "a-provider-image");
}

TEST_P(ImageStoreConformanceTest, ListsBuildsInCreationOrder) {
    StoreBatch batch = makeLineage("a");
    batch.builds[0].created_at = 500;
    for (int i = 0; i < 3; ++i) {
        BuildRecord build;
        build.id = "later-" + std::to_string(i);
        build.image_id = "a-image";
        build.parent_id = i == 0 ? "a-build" : "later-" + std::to_string(i - 1);
        build.created_at = 300 - i * 100;
        batch.builds.push_back(build);
    }
    commitOrFail(batch);

    Result<std::vector<BuildRecord>> builds = store_->buildsOfImage("a-image");
    ASSERT_TRUE(builds.ok()) << builds.error().message;
    ASSERT_EQ(builds->size(), 4u);
    EXPECT_EQ((*builds)[0].id, "later-2");
    EXPECT_EQ((*builds)[1].id, "later-1");
    EXPECT_EQ((*builds)[2].id, "later-0");
    EXPECT_EQ((*builds)[3].id, "a-build");
}

TEST_P(ImageStoreConformanceTest, ListsOfUnknownParentAreEmpty) {
    Result<std::vector<BuildRecord>> builds = store_->buildsOfImage("nothing");
    ASSERT_TRUE(builds.ok()) << builds.error().message;
    EXPECT_TRUE(builds->empty());
}

TEST_P(ImageStoreConformanceTest, ListsImagesByCreatedAt) {
    const std::vector<std::pair<std::string, TimestampMs>> images = {
        {"middle", 2000}, {"last", 3000}, {"first", 1000}};
    for (const auto& [id, created_at] : images) {
        ImageRecord image;
        image.id = id;
        image.created_at = created_at;
        commitOrFail(StoreBatch{.images = {image}});
    }

    Result<std::vector<ImageRecord>> listed = store_->listImages();
    ASSERT_TRUE(listed.ok()) << listed.error().message;
    ASSERT_EQ(listed->size(), 3u);
    EXPECT_EQ((*listed)[0].id, "first");
    EXPECT_EQ((*listed)[1].id, "middle");
    EXPECT_EQ((*listed)[2].id, "last");
}

TEST_P(ImageStoreConformanceTest, ReplaceKeepsCreatedAt) {
    StoreBatch batch = makeLineage("a");
    batch.images[0].created_at = 1234;
    commitOrFail(batch);

    ImageRecord changed = batch.images[0];
    changed.name = "renamed";
    changed.created_at = 9999;
    commitOrFail(StoreBatch{.images = {changed}});

    Result<ImageRecord> stored = store_->getImage("a-image");
    ASSERT_TRUE(stored.ok()) << stored.error().message;
    EXPECT_EQ(stored->name, "renamed");
    EXPECT_EQ(stored->created_at, 1234);
}

TEST_P(ImageStoreConformanceTest, ReplaceOfTargetImageKeepsCreatedAt) {
    StoreBatch batch = makeLineage("a");
    batch.target_images[0].created_at = 42;
    commitOrFail(batch);

    TargetImageRecord changed = batch.target_images[0];
    changed.created_at = 0;
    changed.job = {JobStatus::Completed, 100, "", ""};
    changed.file = "images/a.body";
    commitOrFail(StoreBatch{.target_images = {changed}});

    Result<TargetImageRecord> stored = store_->getTargetImage("a-target-image");
    ASSERT_TRUE(stored.ok()) << stored.error().message;
    EXPECT_EQ(stored->created_at, 42);
    EXPECT_EQ(stored->job.status, JobStatus::Completed);
    EXPECT_EQ(stored->file, "images/a.body");
}

TEST_P(ImageStoreConformanceTest, ZeroCreatedAtBecomesCommitTime) {
    TimestampMs before = nowMs();
    commitOrFail(makeLineage("a"));
    TimestampMs after = nowMs();

    Result<BuildRecord> stored = store_->getBuild("a-build");
    ASSERT_TRUE(stored.ok()) << stored.error().message;
    EXPECT_GE(stored->created_at, before);
    EXPECT_LE(stored->created_at, after);
    EXPECT_GE(stored->updated_at, before);
    EXPECT_LE(stored->updated_at, after);
}

struct NotFoundCase {
    RecordKind kind;
    std::function<Status(ImageStore&, const std::string&)> get;
};

TEST_P(ImageStoreConformanceTest, LookupOfUnknownIdNamesId) {
    const std::vector<NotFoundCase> cases = {
        {RecordKind::Template,
         [](ImageStore& s, const std::string& id) -> Status {
             Result<TemplateRecord> r = s.getTemplate(id);
             return r.ok() ? okStatus() : Status(r.error());
         }},
        {RecordKind::Image,
         [](ImageStore& s, const std::string& id) -> Status {
             Result<ImageRecord> r = s.getImage(id);
             return r.ok() ? okStatus() : Status(r.error());
         }},
        {RecordKind::Build,
         [](ImageStore& s, const std::string& id) -> Status {
             Result<BuildRecord> r = s.getBuild(id);
             return r.ok() ? okStatus() : Status(r.error());
         }},
        {RecordKind::TargetImage,
         [](ImageStore& s, const std::string& id) -> Status {
             Result<TargetImageRecord> r = s.getTargetImage(id);
             return r.ok() ? okStatus() : Status(r.error());
         }},
        {RecordKind::ProviderImage,
         [](ImageStore& s, const std::string& id) -> Status {
             Result<ProviderImageRecord> r = s.getProviderImage(id);
             return r.ok() ? okStatus() : Status(r.error());
         }},
        {RecordKind::Image,
         [](ImageStore& s, const std::string& id) -> Status {
             Result<RecordKind> r = s.kindOf(id);
             return r.ok() ? okStatus() : Status(r.error());
         }},
    };
    // A stored lineage makes sure the lookups do not confuse the kinds.
    commitOrFail(makeLineage("a"));

    for (const NotFoundCase& test_case : cases) {
        const std::string id = "missing-" + std::string(recordKindName(test_case.kind));
        Status found = test_case.get(*store_, id);
        ASSERT_FALSE(found.ok()) << id;
        EXPECT_EQ(found.error().code, ErrorCode::NotFound) << id;
        EXPECT_NE(found.error().message.find(id), std::string::npos) << found.error().message;
    }
}

TEST_P(ImageStoreConformanceTest, LookupByOtherKindFails) {
    commitOrFail(makeLineage("a"));

    Result<BuildRecord> build = store_->getBuild("a-image");
    ASSERT_FALSE(build.ok());
    EXPECT_EQ(build.error().code, ErrorCode::NotFound);
}

TEST_P(ImageStoreConformanceTest, KindOfFindsEveryKind) {
    commitOrFail(makeLineage("a"));
    const std::vector<std::pair<std::string, RecordKind>> cases = {
        {"a-template", RecordKind::Template},
        {"a-image", RecordKind::Image},
        {"a-build", RecordKind::Build},
        {"a-target-image", RecordKind::TargetImage},
        {"a-provider-image", RecordKind::ProviderImage},
    };
    for (const auto& [id, kind] : cases) {
        Result<RecordKind> found = store_->kindOf(id);
        ASSERT_TRUE(found.ok()) << found.error().message;
        EXPECT_EQ(found.value(), kind) << id;
    }
}

TEST_P(ImageStoreConformanceTest, RejectsIdOfAnotherKind) {
    commitOrFail(makeLineage("a"));
    BuildRecord clash;
    clash.id = "a-image";
    clash.image_id = "a-image";

    Status committed = store_->commit(StoreBatch{.builds = {clash}});
    ASSERT_FALSE(committed.ok());
    EXPECT_NE(committed.error().message.find("a-image"), std::string::npos)
        << committed.error().message;
    Result<RecordKind> kind = store_->kindOf("a-image");
    ASSERT_TRUE(kind.ok()) << kind.error().message;
    EXPECT_EQ(kind.value(), RecordKind::Image);
}

TEST_P(ImageStoreConformanceTest, RejectsEmptyId) {
    TemplateRecord template_record;
    template_record.xml = "<template/>";

    Status committed = store_->commit(StoreBatch{.templates = {template_record}});
    ASSERT_FALSE(committed.ok());
    EXPECT_EQ(committed.error().code, ErrorCode::UserInput);
}

TEST_P(ImageStoreConformanceTest, UpdateJobStateChangesOnlyJob) {
    commitOrFail(makeLineage("a"));
    Result<TargetImageRecord> before = store_->getTargetImage("a-target-image");
    ASSERT_TRUE(before.ok()) << before.error().message;

    Status updated = store_->updateJobState(RecordKind::TargetImage, "a-target-image",
                                            JobState{JobStatus::Failed, 55, "Aborted", "stop"});
    ASSERT_TRUE(updated.ok()) << updated.error().message;

    Result<TargetImageRecord> after = store_->getTargetImage("a-target-image");
    ASSERT_TRUE(after.ok()) << after.error().message;
    EXPECT_EQ(after->job.status, JobStatus::Failed);
    EXPECT_EQ(after->job.percent_complete, 55);
    EXPECT_EQ(after->job.failure_type, "Aborted");
    EXPECT_EQ(after->job.failure_info, "stop");
    EXPECT_EQ(after->target, before->target);
    EXPECT_EQ(after->parameters, before->parameters);
    EXPECT_EQ(after->created_at, before->created_at);
    EXPECT_GE(after->updated_at, before->updated_at);
}

TEST_P(ImageStoreConformanceTest, UpdateJobStateOfUnknownId) {
    Status updated = store_->updateJobState(RecordKind::ProviderImage, "ghost",
                                            JobState{JobStatus::Pushing, 1, "", ""});
    ASSERT_FALSE(updated.ok());
    EXPECT_EQ(updated.error().code, ErrorCode::NotFound);
    EXPECT_NE(updated.error().message.find("ghost"), std::string::npos);
}

TEST_P(ImageStoreConformanceTest, UpdateJobStateRejectsKindWithoutJob) {
    commitOrFail(makeLineage("a"));

    Status updated = store_->updateJobState(RecordKind::Build, "a-build",
                                            JobState{JobStatus::Pending, 0, "", ""});
    ASSERT_FALSE(updated.ok());
    EXPECT_EQ(updated.error().code, ErrorCode::UserInput);
}

TEST_P(ImageStoreConformanceTest, UpdateJobStateRejectsPercentOutOfRange) {
    commitOrFail(makeLineage("a"));

    Status updated = store_->updateJobState(RecordKind::TargetImage, "a-target-image",
                                            JobState{JobStatus::Building, 101, "", ""});
    ASSERT_FALSE(updated.ok());
    EXPECT_NE(updated.error().message.find("a-target-image"), std::string::npos)
        << updated.error().message;
}

TEST_P(ImageStoreConformanceTest, FailInterruptedJobsMarksUnfinishedOnly) {
    StoreBatch batch = makeLineage("a");
    StoreBatch done = makeLineage("b");
    done.target_images[0].job = {JobStatus::Completed, 100, "", ""};
    done.provider_images[0].job = {JobStatus::Failed, 30, "PushError", "denied"};
    commitOrFail(batch);
    commitOrFail(done);

    Result<int> failed = store_->failInterruptedJobs("daemon restarted");
    ASSERT_TRUE(failed.ok()) << failed.error().message;
    EXPECT_EQ(failed.value(), 2);

    Result<TargetImageRecord> interrupted = store_->getTargetImage("a-target-image");
    ASSERT_TRUE(interrupted.ok()) << interrupted.error().message;
    EXPECT_EQ(interrupted->job.status, JobStatus::Failed);
    EXPECT_EQ(interrupted->job.failure_type, "Interrupted");
    EXPECT_EQ(interrupted->job.failure_info, "daemon restarted");
    EXPECT_EQ(interrupted->job.percent_complete, 40);

    Result<ProviderImageRecord> pending = store_->getProviderImage("a-provider-image");
    ASSERT_TRUE(pending.ok()) << pending.error().message;
    EXPECT_EQ(pending->job.status, JobStatus::Failed);
    EXPECT_EQ(pending->job.failure_type, "Interrupted");

    Result<TargetImageRecord> completed = store_->getTargetImage("b-target-image");
    ASSERT_TRUE(completed.ok()) << completed.error().message;
    EXPECT_EQ(completed->job.status, JobStatus::Completed);

    Result<ProviderImageRecord> earlier_failure = store_->getProviderImage("b-provider-image");
    ASSERT_TRUE(earlier_failure.ok()) << earlier_failure.error().message;
    EXPECT_EQ(earlier_failure->job.failure_type, "PushError");
    EXPECT_EQ(earlier_failure->job.failure_info, "denied");
}

TEST_P(ImageStoreConformanceTest, FailInterruptedJobsOnEmptyStoreMarksNone) {
    Result<int> failed = store_->failInterruptedJobs("restart");
    ASSERT_TRUE(failed.ok()) << failed.error().message;
    EXPECT_EQ(failed.value(), 0);
}

TEST_P(ImageStoreConformanceTest, BatchMayReferInAnyOrder) {
    StoreBatch batch = makeLineage("a");
    // The image names its latest build, and the build names the image: a cycle that only a
    // whole-batch check accepts.
    ASSERT_EQ(batch.images[0].latest_build, batch.builds[0].id);
    commitOrFail(batch);

    Result<ImageRecord> image = store_->getImage("a-image");
    ASSERT_TRUE(image.ok()) << image.error().message;
    EXPECT_EQ(image->latest_build, "a-build");
}

TEST_P(ImageStoreConformanceTest, BatchWithMissingReferenceStoresNothing) {
    StoreBatch batch = makeLineage("a");
    batch.provider_images[0].target_image_id = "no-such-target-image";

    Status committed = store_->commit(batch);
    ASSERT_FALSE(committed.ok());
    EXPECT_NE(committed.error().message.find("a-provider-image"), std::string::npos)
        << committed.error().message;
    EXPECT_NE(committed.error().message.find("no-such-target-image"), std::string::npos)
        << committed.error().message;
    for (const std::string id :
         {"a-template", "a-image", "a-build", "a-target-image", "a-provider-image"}) {
        Result<RecordKind> kind = store_->kindOf(id);
        EXPECT_FALSE(kind.ok()) << id << " was stored";
    }
}

TEST_P(ImageStoreConformanceTest, BatchWithInvalidRecordStoresNothing) {
    commitOrFail(makeLineage("old"));
    StoreBatch batch = makeLineage("a");
    batch.templates[0].xml = "<template>changed</template>";
    batch.target_images[0].job.percent_complete = 150;

    Status committed = store_->commit(batch);
    ASSERT_FALSE(committed.ok());
    EXPECT_NE(committed.error().message.find("a-target-image"), std::string::npos)
        << committed.error().message;
    Result<TemplateRecord> template_record = store_->getTemplate("a-template");
    EXPECT_FALSE(template_record.ok());
    Result<std::vector<ImageRecord>> images = store_->listImages();
    ASSERT_TRUE(images.ok()) << images.error().message;
    EXPECT_EQ(images->size(), 1u);
}

TEST_P(ImageStoreConformanceTest, BatchWithInvalidParametersStoresNothing) {
    StoreBatch batch = makeLineage("a");
    batch.target_images[0].parameters = "{not json";

    Status committed = store_->commit(batch);
    ASSERT_FALSE(committed.ok());
    EXPECT_EQ(committed.error().code, ErrorCode::UserInput);
    EXPECT_NE(committed.error().message.find("a-target-image"), std::string::npos)
        << committed.error().message;
    Result<ImageRecord> image = store_->getImage("a-image");
    EXPECT_FALSE(image.ok());
}

TEST_P(ImageStoreConformanceTest, FailedBatchLeavesReplacedRecordUnchanged) {
    commitOrFail(makeLineage("a"));
    StoreBatch batch;
    ImageRecord renamed;
    renamed.id = "a-image";
    renamed.name = "renamed";
    batch.images.push_back(renamed);
    BuildRecord orphan;
    orphan.id = "orphan-build";
    orphan.image_id = "no-such-image";
    batch.builds.push_back(orphan);

    Status committed = store_->commit(batch);
    ASSERT_FALSE(committed.ok());
    EXPECT_NE(committed.error().message.find("orphan-build"), std::string::npos)
        << committed.error().message;
    Result<ImageRecord> image = store_->getImage("a-image");
    ASSERT_TRUE(image.ok()) << image.error().message;
    EXPECT_EQ(image->name, "a");
}

TEST_P(ImageStoreConformanceTest, CommitsFromManyThreads) {
    constexpr int kThreads = 4;
    constexpr int kLineagesPerThread = 10;
    std::vector<std::thread> threads;
    std::vector<int> failures(kThreads, 0);
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kLineagesPerThread; ++i) {
                std::string prefix = "t" + std::to_string(t) + "-" + std::to_string(i);
                if (!store_->commit(makeLineage(prefix)).ok()) {
                    ++failures[t];
                }
                if (!store_->getTargetImage(prefix + "-target-image").ok()) {
                    ++failures[t];
                }
            }
        });
    }
    for (std::thread& thread : threads) {
        thread.join();
    }

    for (int t = 0; t < kThreads; ++t) {
        EXPECT_EQ(failures[t], 0) << "thread " << t;
    }
    Result<std::vector<ImageRecord>> images = store_->listImages();
    ASSERT_TRUE(images.ok()) << images.error().message;
    EXPECT_EQ(images->size(), static_cast<size_t>(kThreads * kLineagesPerThread));
}

INSTANTIATE_TEST_SUITE_P(AllImplementations, ImageStoreConformanceTest,
                         ::testing::Values(StoreImplementation{"Sqlite", openSqliteImageStore}),
                         implementationName);

}  // namespace
}  // namespace imagefactory
