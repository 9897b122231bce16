#include "providers/libvirt_settings.hpp"

#include <gtest/gtest.h>

namespace imagefactory {
namespace {

nlohmann::json minimal() {
    return {{"uri", "qemu:///system"}, {"pool", "images"}};
}

TEST(LibvirtSettingsTest, DefaultsFilledIn) {
    Result<LibvirtSettings> settings = parseLibvirtSettings(minimal());

    ASSERT_TRUE(settings.ok()) << settings.error().message;
    EXPECT_EQ(settings->uri, "qemu:///system");
    EXPECT_EQ(settings->pool, "images");
    EXPECT_EQ(settings->domain_type, "qemu");
    EXPECT_EQ(settings->memory_mib, 1024);
    EXPECT_EQ(settings->vcpus, 1);
    EXPECT_EQ(settings->firmware, "efi");
    EXPECT_FALSE(settings->secure_boot);
    EXPECT_FALSE(settings->network.has_value());
    EXPECT_FALSE(settings->serial_log_dir.has_value());
}

TEST(LibvirtSettingsTest, EverySettingRead) {
    nlohmann::json json = minimal();
    json.update({{"domain_type", "kvm"},
                 {"memory_mib", 2048},
                 {"vcpus", 2},
                 {"firmware", "efi"},
                 {"secure_boot", true},
                 {"network", "isolated"},
                 {"serial_log_dir", "/var/log/guests"},
                 {"name", "lab"},
                 {"target", "libvirt"}});

    Result<LibvirtSettings> settings = parseLibvirtSettings(json);

    ASSERT_TRUE(settings.ok()) << settings.error().message;
    EXPECT_EQ(settings->domain_type, "kvm");
    EXPECT_EQ(settings->memory_mib, 2048);
    EXPECT_EQ(settings->vcpus, 2);
    EXPECT_TRUE(settings->secure_boot);
    EXPECT_EQ(settings->network.value_or(""), "isolated");
    EXPECT_EQ(settings->serial_log_dir.value_or(""), "/var/log/guests");
}

TEST(LibvirtSettingsTest, InvalidValuesNamed) {
    struct Case {
        nlohmann::json extra;
        std::string key;
        std::string value;
    };
    std::vector<Case> cases = {
        {{{"domain_type", 42}}, "domain_type", "42"},
        {{{"firmware", "floppy"}}, "firmware", "floppy"},
        {{{"memory_mib", 1.5}}, "memory_mib", "1.5"},
        {{{"vcpus", 0}}, "vcpus", "0"},
        {{{"pool", "a\nb"}}, "pool", "\\n"},
        {{{"network", nullptr}}, "network", "null"},
        {{{"serial_log_dir", "relative/dir"}}, "serial_log_dir", "relative/dir"},
    };
    for (const auto& c : cases) {
        nlohmann::json json = minimal();
        json.update(c.extra);

        Result<LibvirtSettings> settings = parseLibvirtSettings(json);

        ASSERT_FALSE(settings.ok()) << json.dump();
        EXPECT_EQ(settings.error().code, ErrorCode::UserInput);
        EXPECT_NE(settings.error().message.find(c.key), std::string::npos)
            << settings.error().message;
        EXPECT_NE(settings.error().message.find(c.value), std::string::npos)
            << settings.error().message;
        EXPECT_EQ(settings.error().message.find('\n'), std::string::npos)
            << settings.error().message;
    }
}

TEST(LibvirtSettingsTest, NumericPoolNameAccepted) {
    nlohmann::json json = minimal();
    json["pool"] = 2024;

    Result<LibvirtSettings> settings = parseLibvirtSettings(json);

    ASSERT_TRUE(settings.ok()) << settings.error().message;
    EXPECT_EQ(settings->pool, "2024");
}

TEST(LibvirtSettingsTest, NonObjectRejected) {
    Result<LibvirtSettings> settings = parseLibvirtSettings(nlohmann::json::array());

    ASSERT_FALSE(settings.ok());
    EXPECT_NE(settings.error().message.find("JSON object"), std::string::npos);
}

TEST(LibvirtDomainXmlTest, NamesEscaped) {
    LibvirtSettings settings = *parseLibvirtSettings(minimal());
    settings.pool = "it's<pool>&";

    std::string xml = pushedDomainXml(settings, "imagefactory-x", "vol'1", "qcow2", "a & b");

    EXPECT_NE(xml.find("pool='it&apos;s&lt;pool&gt;&amp;'"), std::string::npos) << xml;
    EXPECT_NE(xml.find("volume='vol&apos;1'"), std::string::npos) << xml;
    EXPECT_NE(xml.find("<description>a &amp; b</description>"), std::string::npos) << xml;
}

TEST(LibvirtDomainXmlTest, FirmwareAndDevices) {
    nlohmann::json json = minimal();
    json.update({{"network", "isolated"}, {"serial_log_dir", "/var/log/guests"}});
    LibvirtSettings efi = *parseLibvirtSettings(json);
    LibvirtSettings bios = efi;
    bios.firmware = "bios";

    std::string efi_xml = pushedDomainXml(efi, "imagefactory-a", "v.qcow2", "qcow2", "d");
    std::string bios_xml = pushedDomainXml(bios, "imagefactory-a", "v.qcow2", "qcow2", "d");

    EXPECT_NE(efi_xml.find("<os firmware='efi'>"), std::string::npos) << efi_xml;
    EXPECT_NE(efi_xml.find("<feature enabled='no' name='secure-boot'/>"), std::string::npos);
    EXPECT_EQ(bios_xml.find("firmware="), std::string::npos) << bios_xml;
    EXPECT_NE(efi_xml.find("<source network='isolated'/>"), std::string::npos) << efi_xml;
    EXPECT_NE(efi_xml.find("<serial type='file'><source "
                           "path='/var/log/guests/imagefactory-a.serial.log'/>"),
              std::string::npos)
        << efi_xml;
    EXPECT_EQ(efi_xml.find("<graphics"), std::string::npos) << efi_xml;
    EXPECT_NE(efi_xml.find("<domain type='qemu'>"), std::string::npos) << efi_xml;
}

}  // namespace
}  // namespace imagefactory
