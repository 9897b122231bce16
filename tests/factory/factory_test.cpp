#include "factory/factory.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "build/mock_target.hpp"
#include "core/uuid.hpp"
#include "jobs/recording_observer.hpp"
#include "store/image_store.hpp"

namespace imagefactory {
namespace {

constexpr const char* kTemplate = "<template><name>demo</name></template>";
constexpr const char* kCredentials =
    "<provider_credentials><mock_credentials><username>alice</username>"
    "<password>hunter2-secret</password></mock_credentials></provider_credentials>";

class FactoryTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() / ("factory-test-" + newUuid());
        auto store = openSqliteImageStore(dir_);
        ASSERT_TRUE(store.ok()) << store.error().message;
        store_ = std::move(*store);
        targets_.add(std::make_shared<MockTarget>());
        providers_.add(std::make_shared<MockProviderDriver>(dir_ / "mock_providers"));
        factory_ = std::make_unique<Factory>(*store_, targets_, providers_, FactoryOptions{});
        factory_->addObserver(observer_);
    }

    void TearDown() override {
        factory_.reset();
        store_.reset();
        std::filesystem::remove_all(dir_);
    }

    JobSnapshot buildOne(const std::string& xml = kTemplate) {
        auto jobs = factory_->buildImage("", "", xml, {"mock"});
        EXPECT_TRUE(jobs.ok()) << jobs.error().message;
        EXPECT_EQ(jobs->size(), 1u);
        return *factory_->waitForJob(jobs->front().id);
    }

    std::filesystem::path dir_;
    std::unique_ptr<ImageStore> store_;
    TargetRegistry targets_;
    ProviderRegistry providers_;
    std::unique_ptr<Factory> factory_;
    std::shared_ptr<RecordingObserver> observer_ = std::make_shared<RecordingObserver>();
};

TEST_F(FactoryTest, BuildRecordsLineage) {
    JobSnapshot job = buildOne();
    ASSERT_EQ(job.status, JobStatus::Completed);

    auto target_image = store_->getTargetImage(job.id);
    ASSERT_TRUE(target_image.ok());
    EXPECT_EQ(target_image->target, "mock");
    EXPECT_EQ(target_image->build_id, job.build_id);
    EXPECT_EQ(target_image->job.status, JobStatus::Completed);
    EXPECT_TRUE(std::filesystem::is_regular_file(store_->dataDir() / target_image->file));

    auto stored_template = store_->getTemplate(target_image->template_id);
    ASSERT_TRUE(stored_template.ok());
    EXPECT_EQ(stored_template->xml, kTemplate);

    auto build = store_->getBuild(job.build_id);
    ASSERT_TRUE(build.ok());
    EXPECT_EQ(build->image_id, job.image_id);

    auto image = store_->getImage(job.image_id);
    ASSERT_TRUE(image.ok());
    EXPECT_EQ(image->name, "demo");
    EXPECT_EQ(image->latest_unpushed, job.build_id);
}

TEST_F(FactoryTest, MockBuildEmitsOriginalPercentSteps) {
    JobSnapshot job = buildOne();
    std::vector<std::string> expected = {
        "created NEW",
        "status NEW->PENDING",
        "status PENDING->BUILDING",
        "percent 5",
        "percent 10",
        "percent 15",
        "percent 20",
        "percent 50",
        "percent 75",
        "percent 95",
        "status BUILDING->FINISHING",
        "percent 100",
        "status FINISHING->COMPLETED",
    };
    EXPECT_EQ(observer_->events(job.id), expected);
}

TEST_F(FactoryTest, FailTemplateFailsWithMockFailureEvent) {
    JobSnapshot job = buildOne("<template>FAIL</template>");
    EXPECT_EQ(job.status, JobStatus::Failed);
    EXPECT_EQ(job.failure_type, "Mock");
    auto events = observer_->events(job.id);
    ASSERT_GE(events.size(), 2u);
    EXPECT_EQ(events[events.size() - 2],
              "failed Mock: Testing failure conditions via mock target builder...");
    EXPECT_EQ(events.back(), "status BUILDING->FAILED");
}

TEST_F(FactoryTest, EmptyTemplateBuildsOnMock) {
    EXPECT_EQ(buildOne("<template></template>").status, JobStatus::Completed);
}

TEST_F(FactoryTest, RejectsUnknownTargetNamingKnownOnes) {
    auto jobs = factory_->buildImage("", "", kTemplate, {"mock", "nebula"});
    ASSERT_FALSE(jobs.ok());
    EXPECT_NE(jobs.error().message.find("nebula"), std::string::npos);
    EXPECT_NE(jobs.error().message.find("mock"), std::string::npos);
    auto images = store_->listImages();
    ASSERT_TRUE(images.ok());
    EXPECT_TRUE(images->empty()) << "a rejected call must record nothing";
}

TEST_F(FactoryTest, RejectsMalformedTemplate) {
    auto jobs = factory_->buildImage("", "", "<template><name>x</template>", {"mock"});
    ASSERT_FALSE(jobs.ok());
    EXPECT_EQ(jobs.error().code, ErrorCode::UserInput);
}

TEST_F(FactoryTest, RejectsUnclassifiableTemplate) {
    auto jobs = factory_->buildImage("", "", "just some words", {"mock"});
    ASSERT_FALSE(jobs.ok());
    EXPECT_NE(jobs.error().message.find("just some words"), std::string::npos);
}

TEST_F(FactoryTest, TemplateByStoredUuid) {
    JobSnapshot first = buildOne();
    auto target_image = store_->getTargetImage(first.id);
    ASSERT_TRUE(target_image.ok());
    for (const std::string& id : {target_image->template_id, first.id}) {
        auto jobs = factory_->buildImage("", "", id, {"mock"});
        ASSERT_TRUE(jobs.ok()) << jobs.error().message;
        EXPECT_EQ(factory_->waitForJob(jobs->front().id)->status, JobStatus::Completed);
    }
}

TEST_F(FactoryTest, TemplateFromFilePath) {
    std::filesystem::path file = dir_ / "t.tdl";
    std::ofstream(file) << kTemplate;
    auto jobs = factory_->buildImage("", "", file.string(), {"mock"});
    ASSERT_TRUE(jobs.ok()) << jobs.error().message;
    EXPECT_EQ(factory_->waitForJob(jobs->front().id)->status, JobStatus::Completed);
}

TEST_F(FactoryTest, BusRejectsTemplateFilePath) {
    std::filesystem::path file = dir_ / "t.tdl";
    std::ofstream(file) << kTemplate;
    FactoryOptions options;
    options.template_files_allowed = false;
    Factory bus_factory(*store_, targets_, providers_, options);
    auto jobs = bus_factory.buildImage("", "", file.string(), {"mock"});
    ASSERT_FALSE(jobs.ok());
    EXPECT_EQ(jobs.error().code, ErrorCode::UserInput);
    EXPECT_NE(jobs.error().message.find(file.string()), std::string::npos);
    EXPECT_NE(jobs.error().message.find("takes no file paths"), std::string::npos);
    auto inline_jobs = bus_factory.buildImage("", "", kTemplate, {"mock"});
    ASSERT_TRUE(inline_jobs.ok()) << inline_jobs.error().message;
    bus_factory.waitForJob(inline_jobs->front().id);
}

TEST_F(FactoryTest, RebuildOfImageReusesTargetsAndTemplate) {
    JobSnapshot first = buildOne();
    auto jobs = factory_->buildImage(first.image_id, "", "", {});
    ASSERT_TRUE(jobs.ok()) << jobs.error().message;
    ASSERT_EQ(jobs->size(), 1u);
    JobSnapshot second = *factory_->waitForJob(jobs->front().id);
    EXPECT_EQ(second.status, JobStatus::Completed);
    EXPECT_EQ(second.target, "mock");
    EXPECT_NE(second.build_id, first.build_id);
    auto build = store_->getBuild(second.build_id);
    ASSERT_TRUE(build.ok());
    EXPECT_EQ(build->parent_id, first.build_id);
}

TEST_F(FactoryTest, PushRecordsProviderImage) {
    JobSnapshot built = buildOne();
    auto jobs = factory_->pushImage(built.image_id, "", {"mock-cloud"}, kCredentials);
    ASSERT_TRUE(jobs.ok()) << jobs.error().message;
    JobSnapshot pushed = *factory_->waitForJob(jobs->front().id);
    ASSERT_EQ(pushed.status, JobStatus::Completed);

    auto record = store_->getProviderImage(pushed.id);
    ASSERT_TRUE(record.ok());
    EXPECT_EQ(record->target_identifier, "Mock_mock-cloud_" + pushed.id);
    EXPECT_EQ(record->provider_account_identifier, "alice");
    EXPECT_EQ(record->target_image_id, built.id);

    auto image = store_->getImage(built.image_id);
    EXPECT_EQ(image->latest_build, built.build_id);
    EXPECT_EQ(image->latest_unpushed, "");
}

TEST_F(FactoryTest, CredentialsNeverReachStore) {
    JobSnapshot built = buildOne();
    auto jobs = factory_->pushImage(built.image_id, "", {"mock-cloud"}, kCredentials);
    ASSERT_TRUE(jobs.ok());
    factory_->waitForJob(jobs->front().id);
    factory_.reset();
    store_.reset();

    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_)) {
        if (!entry.is_regular_file()) {
            continue;
        }
        std::ifstream in(entry.path(), std::ios::binary);
        std::stringstream content;
        content << in.rdbuf();
        EXPECT_EQ(content.str().find("hunter2-secret"), std::string::npos) << entry.path();
    }
}

TEST_F(FactoryTest, RejectsBadCredentialsWithoutEchoingThem) {
    JobSnapshot built = buildOne();
    std::string bad =
        "<provider_credentials><ec2_credentials><key>topsecret</key>"
        "</ec2_credentials></provider_credentials>";
    auto jobs = factory_->pushImage(built.image_id, "", {"mock-cloud"}, bad);
    ASSERT_FALSE(jobs.ok());
    EXPECT_EQ(jobs.error().message.find("topsecret"), std::string::npos);
    EXPECT_NE(jobs.error().message.find("mock_credentials"), std::string::npos);
}

TEST_F(FactoryTest, RejectsUnknownProviderListingKnownOnes) {
    JobSnapshot built = buildOne();
    auto jobs = factory_->pushImage(built.image_id, "", {"nebula-east"}, kCredentials);
    ASSERT_FALSE(jobs.ok());
    EXPECT_NE(jobs.error().message.find("nebula-east"), std::string::npos);
    EXPECT_NE(jobs.error().message.find("mock"), std::string::npos);
}

TEST_F(FactoryTest, RejectsProviderOfTargetWithoutDriver) {
    JobSnapshot built = buildOne();
    auto jobs = factory_->pushImage(built.image_id, "", {"ec2-us-east-1"}, kCredentials);
    ASSERT_FALSE(jobs.ok());
    EXPECT_EQ(jobs.error().code, ErrorCode::NotFound);
    EXPECT_NE(jobs.error().message.find("target ec2"), std::string::npos) << jobs.error().message;
}

TEST_F(FactoryTest, InlineProviderDefinitionNamesTheProviderImage) {
    JobSnapshot built = buildOne();
    auto jobs = factory_->pushImage(built.image_id, "", {R"({"target": "mock", "name": "lab-3"})"},
                                    kCredentials);
    ASSERT_TRUE(jobs.ok()) << jobs.error().message;
    JobSnapshot pushed = *factory_->waitForJob(jobs->front().id);
    ASSERT_EQ(pushed.status, JobStatus::Completed);
    EXPECT_EQ(store_->getProviderImage(pushed.id)->provider, "lab-3");
}

TEST_F(FactoryTest, RefusedPushRecordsNothing) {
    JobSnapshot built = buildOne();
    const std::string no_username =
        "<provider_credentials><mock_credentials><password>hunter2-secret</password>"
        "</mock_credentials></provider_credentials>";
    auto jobs = factory_->pushImage(built.image_id, "", {"mock-a", "mock-b"}, no_username);
    ASSERT_FALSE(jobs.ok());
    EXPECT_NE(jobs.error().message.find("cannot push to provider mock-a"), std::string::npos)
        << jobs.error().message;
    EXPECT_EQ(jobs.error().message.find("hunter2"), std::string::npos);
    auto pushed = store_->providerImagesOfTargetImage(built.id);
    ASSERT_TRUE(pushed.ok());
    EXPECT_TRUE(pushed->empty());
    EXPECT_EQ(store_->getImage(built.image_id)->latest_unpushed, built.build_id);
}

// A provider whose ids are case-blind, to show that import records the driver's spelling.
class CaseBlindDriver : public ProviderDriver {
  public:
    std::string target() const override { return "caseblind"; }
    std::string failureType() const override { return "CaseBlind"; }
    Status checkPush(const ProviderDefinition&, const ProviderCredentials&) const override {
        return okStatus();
    }
    Result<PushOutput> push(const PushRequest&, JobContext&) override {
        return toolFailure("this driver only imports");
    }
    Result<std::string> checkImport(const ImportRequest& request) const override {
        std::string id = request.target_identifier;
        for (char& c : id) {
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        }
        if (id == "MISSING") {
            return notFound("no image " + id);
        }
        return id;
    }
};

TEST_F(FactoryTest, ImportRecordsTheDriversCanonicalIdentifier) {
    providers_.add(std::make_shared<CaseBlindDriver>());
    const std::string provider = R"({"target": "caseblind", "name": "cb"})";
    auto first = factory_->importImage("", "", "img-7", "<image/>", "caseblind", provider);
    auto second = factory_->importImage("", "", "IMG-7", "<image/>", "caseblind", provider);
    ASSERT_TRUE(first.ok()) << first.error().message;
    ASSERT_TRUE(second.ok()) << second.error().message;
    EXPECT_EQ(first->provider_image_id, second->provider_image_id);
    EXPECT_EQ(store_->getProviderImage(first->provider_image_id)->target_identifier, "IMG-7");

    auto missing = factory_->importImage("", "", "missing", "<image/>", "caseblind", provider);
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
}

TEST_F(FactoryTest, RejectsPushOfImportedTargetImage) {
    auto imported = factory_->importImage("", "", "ami-1", "<image/>", "mock", "mock-east");
    ASSERT_TRUE(imported.ok()) << imported.error().message;
    auto jobs =
        factory_->pushImage(imported->image_id, imported->build_id, {"mock-west"}, kCredentials);
    ASSERT_FALSE(jobs.ok());
    EXPECT_EQ(jobs.error().code, ErrorCode::InvalidState);
    EXPECT_NE(jobs.error().message.find("no file to push"), std::string::npos)
        << jobs.error().message;
    auto pushed = store_->providerImagesOfTargetImage(imported->target_image_id);
    ASSERT_TRUE(pushed.ok());
    EXPECT_EQ(pushed->size(), 1u);
}

TEST_F(FactoryTest, RejectsPushOfUnknownImage) {
    auto jobs = factory_->pushImage(newUuid(), "", {"mock-cloud"}, kCredentials);
    ASSERT_FALSE(jobs.ok());
    EXPECT_EQ(jobs.error().code, ErrorCode::NotFound);
}

TEST_F(FactoryTest, ImportRecordsLineageSynchronously) {
    auto imported = factory_->importImage(
        "", "", "ami-123", "<image><name>Mock Image</name></image>", "mock", "mock-cloud");
    ASSERT_TRUE(imported.ok()) << imported.error().message;

    auto image = store_->getImage(imported->image_id);
    ASSERT_TRUE(image.ok());
    EXPECT_EQ(image->name, "Mock Image");
    EXPECT_EQ(image->latest_build, imported->build_id);
    auto target_image = store_->getTargetImage(imported->target_image_id);
    ASSERT_TRUE(target_image.ok());
    EXPECT_EQ(target_image->build_id, imported->build_id);
    EXPECT_EQ(target_image->target, "mock");
    auto provider_image = store_->getProviderImage(imported->provider_image_id);
    ASSERT_TRUE(provider_image.ok());
    EXPECT_EQ(provider_image->target_identifier, "ami-123");
    EXPECT_EQ(provider_image->target_image_id, imported->target_image_id);
}

TEST_F(FactoryTest, ImportTwiceReturnsSameIds) {
    auto first =
        factory_->importImage("", "", "ami-9", "<image><name>x</name></image>", "mock", "mock-a");
    auto second =
        factory_->importImage("", "", "ami-9", "<image><name>x</name></image>", "mock", "mock-a");
    ASSERT_TRUE(first.ok());
    ASSERT_TRUE(second.ok());
    EXPECT_EQ(first->image_id, second->image_id);
    EXPECT_EQ(first->provider_image_id, second->provider_image_id);
}

TEST_F(FactoryTest, ImportTwiceIntoNamedImageReturnsSameIds) {
    auto first =
        factory_->importImage("", "", "ami-5", "<image><name>x</name></image>", "mock", "mock-a");
    ASSERT_TRUE(first.ok()) << first.error().message;
    auto second = factory_->importImage(first->image_id, "", "ami-5",
                                        "<image><name>x</name></image>", "mock", "mock-a");
    ASSERT_TRUE(second.ok()) << second.error().message;
    EXPECT_EQ(second->build_id, first->build_id);
    EXPECT_EQ(second->provider_image_id, first->provider_image_id);
}

TEST_F(FactoryTest, RejectsImportIdentifierWithControlCharacters) {
    for (const std::string& id : {std::string("ami-1\n2026-01-01 forged"), std::string("a\x1b[2J"),
                                  std::string(2000, 'a')}) {
        auto imported = factory_->importImage("", "", id, "<image/>", "mock", "mock-a");
        ASSERT_FALSE(imported.ok());
        EXPECT_EQ(imported.error().code, ErrorCode::UserInput);
        EXPECT_EQ(imported.error().message.find('\n'), std::string::npos);
        EXPECT_EQ(imported.error().message.find('\x1b'), std::string::npos);
    }
}

TEST_F(FactoryTest, RejectsProviderNamedTwiceInOnePush) {
    JobSnapshot built = buildOne();
    auto jobs = factory_->pushImage(built.image_id, "", {"mock-a", "mock-a"}, kCredentials);
    ASSERT_FALSE(jobs.ok());
    EXPECT_NE(jobs.error().message.find("named twice"), std::string::npos);
    EXPECT_TRUE(store_->providerImagesOfTargetImage(built.id)->empty());
}

TEST_F(FactoryTest, RejectsTooManyProvidersInOneCall) {
    JobSnapshot built = buildOne();
    std::vector<std::string> providers;
    for (int i = 0; i < 1001; ++i) {
        providers.push_back("mock-" + std::to_string(i));
    }
    auto jobs = factory_->pushImage(built.image_id, "", providers, kCredentials);
    ASSERT_FALSE(jobs.ok());
    EXPECT_NE(jobs.error().message.find("the limit is 1000"), std::string::npos);
}

TEST_F(FactoryTest, RejectsImportWithBadDescriptor) {
    for (const char* desc :
         {"", "<image>", "<notimage/>", "<!DOCTYPE image [<!ENTITY x 'y'>]><image>&x;</image>"}) {
        auto imported = factory_->importImage("", "", "ami-1", desc, "mock", "mock-a");
        EXPECT_FALSE(imported.ok()) << desc;
    }
}

TEST_F(FactoryTest, InstanceStatesForKnownAndUnknownClasses) {
    auto build_adaptor = factory_->instanceStates("BuildAdaptor");
    ASSERT_TRUE(build_adaptor.ok());
    EXPECT_EQ(*build_adaptor, describeJobStateMachine());
    EXPECT_EQ(*factory_->instanceStates("ImageFactory"), "{}");
    auto unknown = factory_->instanceStates("Spaceship");
    ASSERT_FALSE(unknown.ok());
    EXPECT_NE(unknown.error().message.find("Spaceship"), std::string::npos);
}

TEST_F(FactoryTest, AbortOfSlowMockBuild) {
    auto jobs = factory_->buildImage(
        "", "", "<template><name>slow</name><mock_step_ms>5000</mock_step_ms></template>",
        {"mock"});
    ASSERT_TRUE(jobs.ok());
    const std::string id = jobs->front().id;
    while (factory_->job(id)->status != JobStatus::Building) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_TRUE(factory_->abort(id).ok());
    JobSnapshot ended = *factory_->waitForJob(id);
    EXPECT_EQ(ended.status, JobStatus::Failed);
    EXPECT_EQ(ended.failure_type, "Aborted");
    EXPECT_FALSE(factory_->abort(id).ok());
}

TEST_F(FactoryTest, HundredConcurrentBuildsReportEveryEvent) {
    std::vector<std::string> ids;
    for (int i = 0; i < 100; ++i) {
        auto jobs = factory_->buildImage(
            "", "", "<template><mock_step_ms>1</mock_step_ms></template>", {"mock"});
        ASSERT_TRUE(jobs.ok());
        ids.push_back(jobs->front().id);
    }
    for (const auto& id : ids) {
        EXPECT_EQ(factory_->waitForJob(id)->status, JobStatus::Completed);
    }
    for (const auto& id : ids) {
        // created, 4 status changes, 8 percent steps (5 to 95, then 100)
        EXPECT_EQ(observer_->events(id).size(), 13u) << id;
    }
}

}  // namespace
}  // namespace imagefactory
