// LibvirtDriver against a real libvirtd (scripts/libvirt/start.sh starts one): uploads into a
// transient directory pool that the suite creates, and domains it defines and removes again.
#include "providers/libvirt_driver.hpp"

#include <gtest/gtest.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <future>
#include <optional>
#include <random>
#include <thread>

#include "core/uuid.hpp"

namespace imagefactory {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPassword = "Pa55-never-shown-9f2c";

std::string libvirtUri() {
    const char* uri = std::getenv("IF_LIBVIRT_URI");
    return uri && *uri ? uri : "qemu:///system";
}

// A JobContext that records every percent and can cancel its token once a percent passes
// cancel_above.
class RecordingContext : public JobContext {
  public:
    explicit RecordingContext(fs::path work_dir, int cancel_above = 1000)
        : work_dir_(std::move(work_dir)), cancel_above_(cancel_above) {}

    const std::string& jobId() const override { return id_; }
    void setPercent(int percent) override {
        percents.push_back(percent);
        if (percent > cancel_above_) {
            token_.cancel();
        }
        if (pause_above && percent > *pause_above) {
            pause_above.reset();
            paused.set_value();
            resume.wait();
        }
    }

    // When set, the upload stops once past this percent until resume is ready, so that
    // another push can run while this one keeps its stream open.
    std::optional<int> pause_above;
    std::promise<void> paused;
    std::shared_future<void> resume;
    CancelToken& cancelToken() override { return token_; }
    std::shared_ptr<spdlog::logger> logger() override { return logger_; }
    const fs::path& workDir() const override { return work_dir_; }

    std::vector<int> percents;

  private:
    std::string id_ = "libvirt-test-job";
    fs::path work_dir_;
    int cancel_above_;
    CancelToken token_;
    std::shared_ptr<spdlog::logger> logger_ = std::make_shared<spdlog::logger>(
        "libvirt-test", std::make_shared<spdlog::sinks::null_sink_mt>());
};

// A raw disk of disk_mib with data_mib of random bytes at 1 MiB, so that its qcow2 form takes
// several upload chunks.
void writeRawImage(const fs::path& path, int disk_mib, int data_mib) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    std::mt19937_64 random(static_cast<uint64_t>(::getpid()));
    std::vector<uint64_t> block((1 << 20) / sizeof(uint64_t));
    out.seekp(1 << 20);
    for (int i = 0; i < data_mib; ++i) {
        for (auto& word : block) {
            word = random();
        }
        out.write(reinterpret_cast<const char*>(block.data()), 1 << 20);
    }
    out.close();
    fs::resize_file(path, static_cast<uintmax_t>(disk_mib) << 20);
}

class LibvirtDriverTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        virSetErrorFunc(nullptr, [](void*, virErrorPtr) {});
        conn_ = virConnectOpen(libvirtUri().c_str());
        if (!conn_) {
            const char* message = virGetLastErrorMessage();
            connect_error_ = "libvirtd is not reachable at " + libvirtUri() + " (" +
                             (message ? message : "?") + "); run scripts/libvirt/start.sh";
            return;
        }

        // qemu runs as libvirt-qemu, so every parent of the pool must be o+x: not /root and
        // not a mktemp -d directory.
        root_ = "/var/tmp/imagefactory-libvirt-test-" + std::to_string(::getpid());
        fs::remove_all(root_);
        fs::create_directories(root_ / "pool");
        fs::create_directories(root_ / "images");
        ::chmod(root_.c_str(), 0755);
        ::chmod((root_ / "pool").c_str(), 0755);

        pool_name_ = "imagefactory-test-" + std::to_string(::getpid());
        std::string xml = "<pool type='dir'><name>" + pool_name_ + "</name><target><path>" +
                          (root_ / "pool").string() + "</path></target></pool>";
        pool_ = virStoragePoolCreateXML(conn_, xml.c_str(), 0);
        if (!pool_) {
            connect_error_ =
                std::string("cannot create the test pool: ") + virGetLastErrorMessage();
            return;
        }

        writeRawImage(root_ / "images/disk.raw", 64, 12);
        std::string convert = "qemu-img convert -f raw -O qcow2 " +
                              (root_ / "images/disk.raw").string() + " " +
                              (root_ / "images/disk.qcow2").string();
        if (std::system((convert + " >/dev/null 2>&1").c_str()) != 0) {
            connect_error_ = "qemu-img convert failed: " + convert;
        }
    }

    static void TearDownTestSuite() {
        if (pool_) {
            virStoragePoolDestroy(pool_);
            virStoragePoolFree(pool_);
            pool_ = nullptr;
        }
        if (conn_) {
            virConnectClose(conn_);
            conn_ = nullptr;
        }
        if (!root_.empty()) {
            fs::remove_all(root_);
        }
    }

    void SetUp() override { ASSERT_TRUE(connect_error_.empty()) << connect_error_; }

    void TearDown() override {
        for (const auto& name : domains_) {
            if (virDomainPtr domain = virDomainLookupByName(conn_, name.c_str())) {
                virDomainUndefineFlags(domain, VIR_DOMAIN_UNDEFINE_NVRAM);
                virDomainFree(domain);
            }
        }
        virStoragePoolRefresh(pool_, 0);
        for (const auto& name : volumes_) {
            if (virStorageVolPtr volume = virStorageVolLookupByName(pool_, name.c_str())) {
                virStorageVolDelete(volume, 0);
                virStorageVolFree(volume);
            }
        }
    }

    static ProviderDefinition definition(nlohmann::json extra = nlohmann::json::object()) {
        ProviderDefinition provider;
        provider.name = "libvirt-test";
        provider.target = "libvirt";
        provider.settings = {{"uri", libvirtUri()}, {"pool", pool_name_}};
        provider.settings.update(extra);
        return provider;
    }

    // A push request for a fresh target image and provider image; the ids it uses are
    // remembered for clean-up.
    PushRequest request(const fs::path& file, const std::string& extension = "qcow2") {
        PushRequest push;
        push.image_id = newUuid();
        push.build_id = newUuid();
        push.target_image_id = newUuid();
        push.provider_image_id = newUuid();
        push.provider = definition();
        push.target_image_file = file;
        push.target_image_parameters = "{}";
        remember(push, extension);
        return push;
    }

    void remember(const PushRequest& push, const std::string& extension) {
        domains_.push_back("imagefactory-" + push.provider_image_id);
        volumes_.push_back("imagefactory-" + push.target_image_id + "." + extension);
    }

    static bool domainExists(const std::string& name) {
        virDomainPtr domain = virDomainLookupByName(conn_, name.c_str());
        if (domain) {
            virDomainFree(domain);
        }
        return domain != nullptr;
    }

    static bool volumeExists(const std::string& name) {
        virStoragePoolRefresh(pool_, 0);
        virStorageVolPtr volume = virStorageVolLookupByName(pool_, name.c_str());
        if (volume) {
            virStorageVolFree(volume);
        }
        return volume != nullptr;
    }

    static int volumeCount() {
        virStoragePoolRefresh(pool_, 0);
        return virStoragePoolNumOfVolumes(pool_);
    }

    static fs::path qcow2() { return root_ / "images/disk.qcow2"; }
    static fs::path raw() { return root_ / "images/disk.raw"; }

    static inline virConnectPtr conn_ = nullptr;
    static inline virStoragePoolPtr pool_ = nullptr;
    static inline std::string pool_name_;
    static inline fs::path root_;
    static inline std::string connect_error_;

    LibvirtDriver driver_;
    std::vector<std::string> domains_;
    std::vector<std::string> volumes_;
};

TEST_F(LibvirtDriverTest, PushDefinesDomainOnUploadedVolume) {
    PushRequest push = request(qcow2());
    RecordingContext context(root_);

    Result<PushOutput> output = driver_.push(push, context);
    ASSERT_TRUE(output.ok()) << output.error().message;

    virDomainPtr domain = virDomainLookupByUUIDString(conn_, output->target_identifier.c_str());
    ASSERT_NE(domain, nullptr) << "no domain with UUID " << output->target_identifier;
    EXPECT_EQ(std::string(virDomainGetName(domain)), "imagefactory-" + push.provider_image_id);
    char* xml = virDomainGetXMLDesc(domain, 0);
    ASSERT_NE(xml, nullptr);
    std::string domain_xml = xml;
    free(xml);
    virDomainFree(domain);
    EXPECT_NE(domain_xml.find("type='qemu'"), std::string::npos) << domain_xml;
    EXPECT_NE(domain_xml.find("volume='imagefactory-" + push.target_image_id + ".qcow2'"),
              std::string::npos)
        << domain_xml;
    EXPECT_NE(domain_xml.find("name='secure-boot'"), std::string::npos) << domain_xml;
    EXPECT_EQ(domain_xml.find("<graphics"), std::string::npos) << domain_xml;
    EXPECT_EQ(domain_xml.find("<interface"), std::string::npos) << domain_xml;

    std::string volume_name = "imagefactory-" + push.target_image_id + ".qcow2";
    virStorageVolPtr volume = virStorageVolLookupByName(pool_, volume_name.c_str());
    ASSERT_NE(volume, nullptr) << volume_name;
    virStorageVolInfo info{};
    ASSERT_EQ(virStorageVolGetInfo(volume, &info), 0);
    EXPECT_EQ(info.capacity, 64ull << 20);
    char* path = virStorageVolGetPath(volume);
    virStorageVolFree(volume);
    ASSERT_NE(path, nullptr);
    std::string volume_path = path;
    free(path);
    EXPECT_EQ(std::system(("cmp -s " + qcow2().string() + " " + volume_path).c_str()), 0)
        << "uploaded volume differs from " << qcow2();

    auto parameters = nlohmann::json::parse(output->parameters);
    EXPECT_EQ(parameters.value("volume", ""), volume_name);
    EXPECT_EQ(parameters.value("domain", ""), "imagefactory-" + push.provider_image_id);
    EXPECT_EQ(parameters.value("pool", ""), pool_name_);
    EXPECT_EQ(parameters.value("uri", ""), libvirtUri());
    EXPECT_EQ(output->provider_account_identifier, "");
}

TEST_F(LibvirtDriverTest, PushReportsRisingPercent) {
    PushRequest push = request(qcow2());
    RecordingContext context(root_);

    Result<PushOutput> output = driver_.push(push, context);
    ASSERT_TRUE(output.ok()) << output.error().message;

    // 12 MiB of random data compress to no less than 12 one-MiB chunks.
    EXPECT_GE(context.percents.size(), 10u);
    for (size_t i = 1; i < context.percents.size(); ++i) {
        EXPECT_GE(context.percents[i], context.percents[i - 1]) << "at report " << i;
    }
    EXPECT_GE(context.percents.back(), 90);
    EXPECT_LE(context.percents.back(), 100);
}

TEST_F(LibvirtDriverTest, PushesRawImageAsRawVolume) {
    PushRequest push = request(raw(), "raw");
    RecordingContext context(root_);

    Result<PushOutput> output = driver_.push(push, context);
    ASSERT_TRUE(output.ok()) << output.error().message;

    EXPECT_TRUE(volumeExists("imagefactory-" + push.target_image_id + ".raw"));
    EXPECT_NE(nlohmann::json::parse(output->parameters).value("volume", "").find(".raw"),
              std::string::npos);
}

TEST_F(LibvirtDriverTest, SettingVariantsAcceptedByLibvirt) {
    struct Case {
        nlohmann::json settings;
        std::string expected_xml;
    };
    std::vector<Case> cases = {
        {{{"firmware", "bios"}}, "<type arch='x86_64' machine='pc-q35"},
        {{{"secure_boot", true}}, "<feature enabled='yes' name='secure-boot'/>"},
        {{{"serial_log_dir", (root_ / "serial").string()}}, "<serial type='file'>"},
        {{{"memory_mib", 512}, {"vcpus", 2}}, "<vcpu placement='static'>2</vcpu>"},
    };
    for (const auto& c : cases) {
        PushRequest push = request(qcow2());
        push.provider = definition(c.settings);
        RecordingContext context(root_);

        Result<PushOutput> output = driver_.push(push, context);

        ASSERT_TRUE(output.ok()) << c.settings.dump() << ": " << output.error().message;
        virDomainPtr domain = virDomainLookupByUUIDString(conn_, output->target_identifier.c_str());
        ASSERT_NE(domain, nullptr) << c.settings.dump();
        char* xml = virDomainGetXMLDesc(domain, 0);
        virDomainFree(domain);
        ASSERT_NE(xml, nullptr);
        std::string domain_xml = xml;
        free(xml);
        EXPECT_NE(domain_xml.find(c.expected_xml), std::string::npos)
            << c.settings.dump() << " gave " << domain_xml;
    }
}

TEST_F(LibvirtDriverTest, SecondPushOfTargetImageRejected) {
    PushRequest first = request(qcow2());
    RecordingContext context(root_);
    Result<PushOutput> output = driver_.push(first, context);
    ASSERT_TRUE(output.ok()) << output.error().message;
    int volumes_before = volumeCount();

    PushRequest second = first;
    second.provider_image_id = newUuid();
    remember(second, "qcow2");
    RecordingContext second_context(root_);
    Result<PushOutput> again = driver_.push(second, second_context);

    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().code, ErrorCode::InvalidState);
    std::string volume_name = "imagefactory-" + first.target_image_id + ".qcow2";
    EXPECT_NE(again.error().message.find(volume_name), std::string::npos) << again.error().message;
    EXPECT_FALSE(domainExists("imagefactory-" + second.provider_image_id));
    EXPECT_TRUE(domainExists("imagefactory-" + first.provider_image_id));
    EXPECT_EQ(volumeCount(), volumes_before);

    // The same is found before a push is recorded.
    Status checked = driver_.checkTargetImage(first.provider, first.credentials,
                                              first.target_image_id, first.target_image_file);
    ASSERT_FALSE(checked.ok());
    EXPECT_EQ(checked.error().code, ErrorCode::InvalidState);
    EXPECT_NE(checked.error().message.find(volume_name), std::string::npos);
    Status other = driver_.checkTargetImage(first.provider, first.credentials, newUuid(),
                                            first.target_image_file);
    EXPECT_TRUE(other.ok()) << other.error().message;
}

TEST_F(LibvirtDriverTest, AbortMidUploadLeavesNothing) {
    PushRequest push = request(qcow2());
    int volumes_before = volumeCount();
    RecordingContext context(root_, 20);

    Result<PushOutput> output = driver_.push(push, context);

    ASSERT_FALSE(output.ok());
    EXPECT_EQ(output.error().code, ErrorCode::Aborted) << output.error().message;
    ASSERT_FALSE(context.percents.empty());
    EXPECT_LT(context.percents.back(), 90) << "the upload finished before the abort";
    EXPECT_FALSE(volumeExists("imagefactory-" + push.target_image_id + ".qcow2"));
    EXPECT_FALSE(domainExists("imagefactory-" + push.provider_image_id));
    EXPECT_EQ(volumeCount(), volumes_before);
}

TEST_F(LibvirtDriverTest, ConcurrentPushesBothSucceed) {
    PushRequest first = request(qcow2());
    PushRequest second = request(raw(), "raw");
    Result<PushOutput> first_output = internalError("not run");
    Result<PushOutput> second_output = internalError("not run");

    std::thread other([&] {
        RecordingContext context(root_);
        second_output = driver_.push(second, context);
    });
    RecordingContext context(root_);
    first_output = driver_.push(first, context);
    other.join();

    ASSERT_TRUE(first_output.ok()) << first_output.error().message;
    ASSERT_TRUE(second_output.ok()) << second_output.error().message;
    EXPECT_NE(first_output->target_identifier, second_output->target_identifier);
}

// A push that ends while another upload into the same pool keeps its stream open must still
// succeed, and so must the other.
TEST_F(LibvirtDriverTest, PushEndsWhileAnotherUploadRuns) {
    PushRequest slow = request(qcow2());
    PushRequest quick = request(raw(), "raw");
    std::promise<void> release;
    RecordingContext slow_context(root_);
    slow_context.pause_above = 20;
    slow_context.resume = release.get_future().share();
    std::future<void> paused = slow_context.paused.get_future();
    Result<PushOutput> slow_output = internalError("not run");

    std::thread other([&] { slow_output = driver_.push(slow, slow_context); });
    paused.wait();
    RecordingContext quick_context(root_);
    Result<PushOutput> quick_output = driver_.push(quick, quick_context);
    release.set_value();
    other.join();

    EXPECT_TRUE(quick_output.ok()) << quick_output.error().message;
    EXPECT_TRUE(slow_output.ok()) << slow_output.error().message;
}

TEST_F(LibvirtDriverTest, CheckPushAcceptsReachablePool) {
    Status status = driver_.checkPush(definition(), ProviderCredentials{});
    EXPECT_TRUE(status.ok()) << status.error().message;
}

TEST_F(LibvirtDriverTest, CheckPushUnreachableUriFails) {
    const std::string uri = "qemu+unix:///system?socket=/nonexistent/sock";
    Status status = driver_.checkPush(definition({{"uri", uri}}), ProviderCredentials{});

    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code, ErrorCode::Unavailable);
    EXPECT_NE(status.error().message.find("cannot connect to libvirt at"), std::string::npos)
        << status.error().message;
    EXPECT_NE(status.error().message.find(uri), std::string::npos) << status.error().message;
}

TEST_F(LibvirtDriverTest, CheckPushUnknownPoolFails) {
    Status status =
        driver_.checkPush(definition({{"pool", "no-such-pool-xyz"}}), ProviderCredentials{});

    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code, ErrorCode::NotFound);
    EXPECT_NE(status.error().message.find("no-such-pool-xyz"), std::string::npos)
        << status.error().message;
    EXPECT_NE(status.error().message.find(libvirtUri()), std::string::npos)
        << status.error().message;
}

TEST_F(LibvirtDriverTest, BadSettingsNameKeyAndValue) {
    struct Case {
        nlohmann::json settings;
        std::vector<std::string> expected;
    };
    std::vector<Case> cases = {
        {{{"pool", "p"}}, {"uri", "missing"}},
        {{{"uri", libvirtUri()}}, {"pool", "missing"}},
        {{{"uri", 7}, {"pool", "p"}}, {"uri", "7"}},
        {{{"uri", libvirtUri()}, {"pool", "p"}, {"domain_type", 42}}, {"domain_type", "42"}},
        {{{"uri", libvirtUri()}, {"pool", "p"}, {"domain_type", "xen"}}, {"domain_type", "xen"}},
        {{{"uri", libvirtUri()}, {"pool", "p"}, {"firmware", "floppy"}}, {"firmware", "floppy"}},
        {{{"uri", libvirtUri()}, {"pool", "p"}, {"memory_mib", 0}}, {"memory_mib", "0"}},
        {{{"uri", libvirtUri()}, {"pool", "p"}, {"vcpus", "two"}}, {"vcpus", "two"}},
        {{{"uri", libvirtUri()}, {"pool", "p"}, {"secure_boot", "yes"}}, {"secure_boot", "yes"}},
        {{{"uri", libvirtUri()}, {"pool", "p"}, {"firmware", "bios"}, {"secure_boot", true}},
         {"secure_boot", "bios"}},
        {{{"uri", libvirtUri()}, {"pool", "p"}, {"network", ""}}, {"network"}},
        {{{"uri", libvirtUri()}, {"pool", "p"}, {"serial_log_dir", "logs"}},
         {"serial_log_dir", "logs"}},
        {{{"uri", libvirtUri()}, {"pool", "p"}, {"memroy_mib", 512}}, {"memroy_mib"}},
    };
    for (const auto& c : cases) {
        ProviderDefinition provider;
        provider.target = "libvirt";
        provider.settings = c.settings;
        Status status = driver_.checkPush(provider, ProviderCredentials{});
        ASSERT_FALSE(status.ok()) << c.settings.dump();
        EXPECT_EQ(status.error().code, ErrorCode::UserInput) << c.settings.dump();
        for (const auto& word : c.expected) {
            EXPECT_NE(status.error().message.find(word), std::string::npos)
                << c.settings.dump() << " gave: " << status.error().message;
        }
    }
}

TEST_F(LibvirtDriverTest, ImportByUuidAndNameAgree) {
    PushRequest push = request(qcow2());
    RecordingContext context(root_);
    Result<PushOutput> output = driver_.push(push, context);
    ASSERT_TRUE(output.ok()) << output.error().message;

    Result<std::string> by_uuid =
        driver_.checkImport(ImportRequest{output->target_identifier, definition()});
    Result<std::string> by_name =
        driver_.checkImport(ImportRequest{"imagefactory-" + push.provider_image_id, definition()});

    ASSERT_TRUE(by_uuid.ok()) << by_uuid.error().message;
    ASSERT_TRUE(by_name.ok()) << by_name.error().message;
    EXPECT_EQ(*by_uuid, output->target_identifier);
    EXPECT_EQ(*by_name, output->target_identifier);
}

TEST_F(LibvirtDriverTest, ImportOfMissingDomainIsNotFound) {
    for (const std::string& id : {std::string("imagefactory-no-such-domain"), newUuid()}) {
        Result<std::string> imported = driver_.checkImport(ImportRequest{id, definition()});

        ASSERT_FALSE(imported.ok()) << id;
        EXPECT_EQ(imported.error().code, ErrorCode::NotFound) << imported.error().message;
        EXPECT_NE(imported.error().message.find(id), std::string::npos) << imported.error().message;
        EXPECT_NE(imported.error().message.find(libvirtUri()), std::string::npos)
            << imported.error().message;
    }
}

TEST_F(LibvirtDriverTest, PasswordNeverInErrors) {
    ProviderCredentials credentials;
    credentials.element = "libvirt_credentials";
    credentials.fields["username"] = Secret("tester");
    credentials.fields["password"] = Secret(kPassword);
    ProviderCredentials extra = credentials;
    extra.fields["token"] = Secret(kPassword);
    ProviderCredentials wrong_element = credentials;
    wrong_element.element = "rhevm_credentials";

    std::vector<std::pair<ProviderDefinition, ProviderCredentials>> cases = {
        {definition({{"uri", "qemu+unix:///system?socket=/nonexistent/sock"}}), credentials},
        {definition({{"uri", std::string("qemu:///") + kPassword}}), credentials},
        {definition({{"pool", "no-such-pool-xyz"}}), credentials},
        {definition({{"firmware", "floppy"}}), credentials},
        {definition(), extra},
        {definition(), wrong_element},
    };
    for (const auto& [provider, creds] : cases) {
        Status status = driver_.checkPush(provider, creds);
        ASSERT_FALSE(status.ok()) << provider.settings.dump();
        EXPECT_EQ(status.error().message.find(kPassword), std::string::npos)
            << status.error().message;
    }

    // A push that fails after connecting: the target image file is missing.
    PushRequest push = request(root_ / "images/missing.qcow2");
    push.credentials = credentials;
    RecordingContext context(root_);
    Result<PushOutput> output = driver_.push(push, context);
    ASSERT_FALSE(output.ok());
    EXPECT_EQ(output.error().message.find(kPassword), std::string::npos) << output.error().message;
}

TEST_F(LibvirtDriverTest, AccountIsCredentialsUsername) {
    ProviderCredentials credentials;
    credentials.element = "libvirt_credentials";
    credentials.fields["username"] = Secret("tester");
    PushRequest push = request(qcow2());
    push.credentials = credentials;
    RecordingContext context(root_);

    Result<PushOutput> output = driver_.push(push, context);

    ASSERT_TRUE(output.ok()) << output.error().message;
    EXPECT_EQ(output->provider_account_identifier, "tester");
}

}  // namespace
}  // namespace imagefactory
