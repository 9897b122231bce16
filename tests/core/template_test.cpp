#include "core/template.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

namespace imagefactory {
namespace {

// A valid template; the cases below replace or add pieces of it.
constexpr std::string_view kOsName = "<name>Debian</name>";
constexpr std::string_view kOsVersion = "<version>12</version>";
constexpr std::string_view kOsArch = "<arch>x86_64</arch>";
constexpr std::string_view kInstall =
    "<install type=\"url\"><url>http://deb.debian.org/debian</url></install>";

std::string makeTdl(std::string_view body_extra = "", std::string_view os_extra = "",
                    std::string_view install = kInstall, std::string_view arch = kOsArch,
                    std::string_view name = "<name>test</name>") {
    std::string xml = "<template>\n  ";
    xml += name;
    xml += "\n  <os>\n    ";
    xml += kOsName;
    xml += kOsVersion;
    xml += arch;
    xml += "\n    ";
    xml += install;
    xml += os_extra;
    xml += "\n  </os>\n";
    xml += body_extra;
    xml += "\n</template>\n";
    return xml;
}

std::string replaced(std::string text, std::string_view from, std::string_view to) {
    size_t at = text.find(from);
    if (at != std::string::npos) {
        text.replace(at, from.size(), to);
    }
    return text;
}

std::string nested(int depth) {
    std::string xml = "<template>";
    for (int i = 1; i < depth; ++i) {
        xml += "<d>";
    }
    for (int i = 1; i < depth; ++i) {
        xml += "</d>";
    }
    return xml + "</template>";
}

std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct XmlCase {
    const char* label;
    std::string xml;
    bool ok;
    std::vector<std::string> message_parts;  // each must appear in the error message
};

void PrintTo(const XmlCase& c, std::ostream* out) {
    *out << c.label;
}

// ---- checkTemplateXml: documents that are hostile or not templates -----------------------

const std::string kBillionLaughs =
    "<?xml version=\"1.0\"?>\n"
    "<!DOCTYPE template [\n"
    " <!ENTITY a \"aaaaaaaaaa\">\n"
    " <!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\n"
    " <!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">\n"
    " <!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">\n"
    " <!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">\n"
    " <!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\">\n"
    " <!ENTITY g \"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\">\n"
    " <!ENTITY h \"&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;\">\n"
    " <!ENTITY i \"&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;\">\n"
    "]>\n"
    "<template><name>&i;</name></template>\n";

std::vector<XmlCase> xmlCases() {
    return {
        {"minimal", "<template/>", true, {}},
        {"mock failure hook", "<template>FAIL</template>", true, {}},
        {"version attribute", "<template version=\"1.0\"><name>x</name></template>", true, {}},
        {"declaration names latin1",
         "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><template/>",
         true,
         {}},
        {"utf8 text", "<template><name>caf\xc3\xa9</name></template>", true, {}},
        {"utf8 byte order mark", "\xef\xbb\xbf<template/>", true, {}},
        {"utf16 byte order mark",
         std::string("\xff\xfe<\0t\0/\0>\0", 10),
         false,
         {"UTF-8", "0xFF"}},
        {"depth at limit", nested(kMaxTemplateDepth), true, {}},
        {"empty", "", false, {"empty"}},
        {"whitespace only", " \n\t ", false, {"empty"}},
        {"external entity",
         "<?xml version=\"1.0\"?>\n<!DOCTYPE template SYSTEM \"file:///etc/passwd\">\n"
         "<template><name>x</name></template>",
         false,
         {"DOCTYPE", "line 2"}},
        {"internal entity reading a file",
         "<!DOCTYPE template [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>"
         "<template><name>&xxe;</name></template>",
         false,
         {"DOCTYPE", "line 1"}},
        {"billion laughs", kBillionLaughs, false, {"DOCTYPE", "line 2"}},
        {"undefined entity", "<template><name>&passwd;</name></template>", false, {"passwd"}},
        {"too deep", nested(kMaxTemplateDepth + 1), false, {"deeper than 32", "<d>"}},
        {"far too deep", nested(100000), false, {"deeper than 32", "<d>"}},
        {"invalid utf8",
         "<template>\n<name>\xff\xfe</name></template>",
         false,
         {"UTF-8", "0xFF", "line 2"}},
        {"utf16 surrogate in utf8",
         "<template><name>\xed\xa0\x80</name></template>",
         false,
         {"UTF-8", "0xED"}},
        {"overlong utf8", "<template><name>\xc0\xaf</name></template>", false, {"UTF-8", "0xC0"}},
        {"truncated utf8", "<template><name>\xe2\x82</name></template>", false, {"UTF-8", "0xE2"}},
        {"wrong root", "<image><name>x</name></image>", false, {"<template>", "<image>"}},
        {"wrong case root", "<TEMPLATE/>", false, {"<TEMPLATE>"}},
        {"tag mismatch",
         "<template>\n<name>x</nam>\n</template>",
         false,
         {"not well-formed", "line 2", "name"}},
        {"unclosed", "<template><name>x</name>", false, {"not well-formed"}},
        {"two roots", "<template/><template/>", false, {"not well-formed"}},
        {"text only", "just text", false, {"not well-formed"}},
    };
}

class TemplateXmlTest : public testing::TestWithParam<XmlCase> {};

TEST_P(TemplateXmlTest, ChecksDocument) {
    const XmlCase& c = GetParam();
    Status status = checkTemplateXml(c.xml);
    ASSERT_EQ(status.ok(), c.ok) << (status.ok() ? "accepted" : status.error().message);
    if (c.ok) {
        return;
    }
    EXPECT_EQ(status.error().code, ErrorCode::UserInput);
    for (const std::string& part : c.message_parts) {
        EXPECT_NE(status.error().message.find(part), std::string::npos)
            << "message: " << status.error().message << "\nexpected part: " << part;
    }
}

INSTANTIATE_TEST_SUITE_P(Cases, TemplateXmlTest, testing::ValuesIn(xmlCases()),
                         [](const testing::TestParamInfo<XmlCase>& info) {
                             std::string name;
                             for (char c : std::string(info.param.label)) {
                                 name.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c
                                                                                            : '_');
                             }
                             return name;
                         });

TEST(TemplateLimitsTest, RejectsTenMegabytesBySize) {
    std::string xml =
        "<template><description>" + std::string(10 << 20, 'a') + "</description></template>";
    Status status = checkTemplateXml(xml);
    ASSERT_FALSE(status.ok());
    EXPECT_NE(status.error().message.find("limit of 1048576 bytes"), std::string::npos)
        << status.error().message;
    EXPECT_NE(status.error().message.find(std::to_string(xml.size())), std::string::npos)
        << status.error().message;
}

TEST(TemplateLimitsTest, AcceptsDocumentAtSizeLimit) {
    std::string head = "<template><description>";
    std::string tail = "</description></template>";
    std::string xml = head + std::string(kMaxTemplateBytes - head.size() - tail.size(), 'a') + tail;
    ASSERT_EQ(xml.size(), kMaxTemplateBytes);
    EXPECT_TRUE(checkTemplateXml(xml).ok());
    EXPECT_FALSE(checkTemplateXml(xml + " ").ok());
}

TEST(TemplateLimitsTest, ParsesInManyThreadsAtOnce) {
    // Each parse has its own context and hooks, so concurrent parses must not see each
    // other's DOCTYPE or depth state.
    std::vector<std::thread> threads;
    std::vector<int> failures(4, 0);
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([t, &failures] {
            for (int i = 0; i < 200; ++i) {
                bool good_ok = parseTdl(makeTdl()).ok();
                bool bomb_rejected = !checkTemplateXml(kBillionLaughs).ok();
                bool deep_rejected = !checkTemplateXml(nested(40)).ok();
                if (!good_ok || !bomb_rejected || !deep_rejected) {
                    ++failures[t];
                }
            }
        });
    }
    for (std::thread& thread : threads) {
        thread.join();
    }
    for (int t = 0; t < 4; ++t) {
        EXPECT_EQ(failures[t], 0) << "thread " << t;
    }
}

// ---- parseTdl: Oz's validation rules -------------------------------------------------------

std::vector<XmlCase> tdlCases() {
    const std::string iso_install =
        "<install type=\"iso\"><iso>http://example.org/debian.iso</iso>"
        "<sha256sum>http://example.org/SHA256SUMS</sha256sum></install>";
    return {
        {"valid", makeTdl(), true, {}},
        {"iso install", makeTdl("", "", iso_install), true, {}},
        {"i386", makeTdl("", "", kInstall, "<arch>i386</arch>"), true, {}},
        {"aarch64", makeTdl("", "", kInstall, "<arch>aarch64</arch>"), true, {}},
        {"version 1.0", replaced(makeTdl(), "<template>", "<template version=\"1.0\">"), true, {}},

        {"missing name",
         makeTdl("", "", kInstall, kOsArch, ""),
         false,
         {"Failed to find template name in TDL", "/template/name is missing"}},
        {"empty name",
         makeTdl("", "", kInstall, kOsArch, "<name> </name>"),
         false,
         {"Failed to find template name in TDL", "/template/name is empty"}},
        {"two names",
         makeTdl("", "", kInstall, kOsArch, "<name>a</name><name>b</name>"),
         false,
         {"Expected 0 or 1 template name in TDL, saw 2", "/template/name"}},
        {"missing os",
         "<template><name>x</name></template>",
         false,
         {"Failed to find OS section in TDL", "/template/os is missing"}},
        {"missing os name",
         replaced(makeTdl(), kOsName, ""),
         false,
         {"Failed to find OS name in TDL", "/template/os/name"}},
        {"missing os version",
         replaced(makeTdl(), kOsVersion, ""),
         false,
         {"Failed to find OS version in TDL", "/template/os/version"}},
        {"missing arch",
         replaced(makeTdl(), kOsArch, ""),
         false,
         {"Failed to find OS architecture in TDL", "/template/os/arch"}},
        {"bad arch",
         makeTdl("", "", kInstall, "<arch>sparc64</arch>"),
         false,
         {"Architecture must be one of", "/template/os/arch", "\"sparc64\""}},
        {"missing install",
         replaced(makeTdl(), kInstall, ""),
         false,
         {"Expected 1 OS install section in TDL, saw 0", "/template/os/install"}},
        {"two installs",
         makeTdl("", kInstall),
         false,
         {"Expected 1 OS install section in TDL, saw 2"}},
        {"install without type",
         makeTdl("", "", "<install><url>http://h/</url></install>"),
         false,
         {"Failed to find OS install type in TDL", "/template/os/install/@type"}},
        {"unknown install type",
         makeTdl("", "", "<install type=\"floppy\"><url>http://h/</url></install>"),
         false,
         {"Unknown install type floppy in TDL", "\"floppy\""}},
        {"url install without url",
         makeTdl("", "", "<install type=\"url\"/>"),
         false,
         {"Failed to find OS install URL in TDL", "/template/os/install/url"}},
        {"iso install without iso",
         makeTdl("", "", "<install type=\"iso\"/>"),
         false,
         {"Failed to find OS install ISO in TDL", "/template/os/install/iso"}},
        {"install url file scheme",
         makeTdl("", "", "<install type=\"url\"><url>file:///srv/debian</url></install>"),
         false,
         {"http://", "\"file:///srv/debian\""}},
        {"install url localhost",
         makeTdl("", "", "<install type=\"url\"><url>http://LocalHost:8080/d</url></install>"),
         false,
         {"Can not use localhost for an URL based install", "\"http://LocalHost:8080/d\""}},
        {"two checksums",
         makeTdl(
             "", "",
             replaced(iso_install, "</install>", "<md5sum>http://h/MD5SUMS</md5sum></install>")),
         false,
         {"Only one of <md5sum>, <sha1sum>, and <sha256sum> can be specified"}},
        {"newer tdl version",
         replaced(makeTdl(), "<template>", "<template version=\"2.0\">"),
         false,
         {"TDL version (2.0) is higher than our known version (1.0)"}},
        {"non-numeric tdl version",
         replaced(makeTdl(), "<template>", "<template version=\"x\">"),
         false,
         {"/template/@version", "\"x\""}},
        {"two descriptions",
         makeTdl("<description>a</description><description>b</description>"),
         false,
         {"Expected 0 or 1 description in TDL, saw 2"}},
        {"two keys",
         makeTdl("", "<key>a</key><key>b</key>"),
         false,
         {"Expected 0 or 1 OS key in TDL, saw 2"}},

        // packages
        {"package without name",
         makeTdl("<packages><package/></packages>"),
         false,
         {"Package without a name was given", "/template/packages/package"}},
        {"package with two files",
         makeTdl("<packages><package name=\"curl\"><file>a</file><file>b</file></package>"
                 "</packages>"),
         false,
         {"Expected 0 or 1 package filename in TDL, saw 2", "\"curl\""}},

        // repositories
        {"repository without name",
         makeTdl("<repositories><repository><url>http://r/</url></repository></repositories>"),
         false,
         {"Repository without a name was given"}},
        {"repository without url",
         makeTdl("<repositories><repository name=\"extra\"/></repositories>"),
         false,
         {"Failed to find repository url in TDL", "\"extra\""}},
        {"repository on localhost",
         makeTdl("<repositories><repository name=\"local\"><url>http://127.0.0.1/repo</url>"
                 "</repository></repositories>"),
         false,
         {"Repositories cannot be localhost", "\"http://127.0.0.1/repo\""}},
        {"repository on localhost.localdomain",
         makeTdl("<repositories><repository name=\"local\">"
                 "<url>https://user@localhost.localdomain/r</url></repository></repositories>"),
         false,
         {"Repositories cannot be localhost", "localhost.localdomain"}},
        {"bad signed",
         makeTdl("<repositories><repository name=\"r\"><url>http://r/</url>"
                 "<signed>maybe</signed></repository></repositories>"),
         false,
         {"Repository signed property must be 'true', 'yes', 'false', or 'no'", "\"maybe\"",
          "/signed"}},
        {"bad persisted",
         makeTdl("<repositories><repository name=\"r\"><url>http://r/</url>"
                 "<persisted>1</persisted></repository></repositories>"),
         false,
         {"Repository persisted property must be", "\"1\""}},
        {"sslverify without cacert",
         makeTdl("<repositories><repository name=\"r\"><url>https://r/</url>"
                 "<sslverify>TRUE</sslverify></repository></repositories>"),
         false,
         {"If sslverify is true you must also provide a ca cert", "\"r\""}},
        {"clientkey without clientcert",
         makeTdl("<repositories><repository name=\"r\"><url>https://r/</url>"
                 "<clientkey>SECRET-KEY</clientkey></repository></repositories>"),
         false,
         {"You cannot specify a clientkey without a clientcert", "\"r\""}},

        // files
        {"file without name",
         makeTdl("<files><file>x</file></files>"),
         false,
         {"File without a name was given", "/template/files/file"}},
        {"relative file name",
         makeTdl("<files><file name=\"etc/motd\">x</file></files>"),
         false,
         {"absolute path", "\"etc/motd\""}},
        {"dot-dot file name",
         makeTdl("<files><file name=\"/etc/../root/x\">x</file></files>"),
         false,
         {"'..'", "\"/etc/../root/x\""}},
        {"trailing dot-dot file name",
         makeTdl("<files><file name=\"/etc/..\">x</file></files>"),
         false,
         {"'..'", "\"/etc/..\""}},
        {"directory file name",
         makeTdl("<files><file name=\"/etc/\">x</file></files>"),
         false,
         {"not a directory", "\"/etc/\""}},
        {"bad file type",
         makeTdl("<files><file name=\"/etc/motd\" type=\"url\">x</file></files>"),
         false,
         {"File type for /etc/motd must be 'raw' or 'base64'", "\"url\""}},
        {"bad base64 file",
         makeTdl("<files><file name=\"/etc/x\" type=\"base64\">not*base64</file></files>"),
         false,
         {"Invalid base64 content in file \"/etc/x\"", "\"*\""}},
        {"file with dots in name",
         makeTdl("<files><file name=\"/etc/..hidden/a...b\">x</file></files>"),
         true,
         {}},

        // commands
        {"command without name",
         makeTdl("<commands><command>true</command></commands>"),
         false,
         {"Command without a name was given", "/template/commands/command"}},
        {"bad command type",
         makeTdl("<commands><command name=\"c\" type=\"shell\">true</command></commands>"),
         false,
         {"File type for c must be 'raw' or 'base64'", "\"shell\""}},
        {"bad base64 command",
         makeTdl("<commands><command name=\"c\" type=\"base64\">QQ=Q</command></commands>"),
         false,
         {"Invalid base64 content in command \"c\""}},
        {"non-numeric position",
         makeTdl("<commands><command name=\"c\" position=\"first\">true</command></commands>"),
         false,
         {"position", "\"first\""}},
        {"negative position",
         makeTdl("<commands><command name=\"c\" position=\"-1\">true</command></commands>"),
         false,
         {"position", "\"-1\""}},

        // disk size
        {"disk size zero",
         makeTdl("<disk><size>0</size></disk>"),
         false,
         {"greater than zero", "/template/disk/size", "\"0\""}},
        {"disk size negative",
         makeTdl("<disk><size>-5</size></disk>"),
         false,
         {"Invalid disk size", "\"-5\""}},
        {"disk size words",
         makeTdl("<disk><size>ten</size></disk>"),
         false,
         {"Invalid disk size", "\"ten\""}},
        {"disk size unknown unit",
         makeTdl("<disk><size>10KB</size></disk>"),
         false,
         {"Invalid disk size", "\"10KB\""}},
        {"disk size fraction",
         makeTdl("<disk><size>1.5</size></disk>"),
         false,
         {"Invalid disk size", "\"1.5\""}},
        {"disk size absurd",
         makeTdl("<disk><size>17T</size></disk>"),
         false,
         {"at most 16 TB", "\"17T\""}},
        {"disk size overflow",
         makeTdl("<disk><size>99999999999999999999</size></disk>"),
         false,
         {"\"99999999999999999999\""}},
        {"disk without size",
         makeTdl("<disk/>"),
         false,
         {"Failed to find disk size in TDL", "/template/disk/size"}},
        {"two disks",
         makeTdl("<disk><size>1</size></disk><disk><size>2</size></disk>"),
         false,
         {"Expected 0 or 1 disk section in TDL, saw 2"}},

        // XML-level failures surface through parseTdl too
        {"doctype", "<!DOCTYPE template><template/>", false, {"DOCTYPE"}},
        {"wrong root", "<tdl/>", false, {"<tdl>"}},
    };
}

class TdlParseTest : public testing::TestWithParam<XmlCase> {};

TEST_P(TdlParseTest, ValidatesTemplate) {
    const XmlCase& c = GetParam();
    Result<Tdl> tdl = parseTdl(c.xml);
    ASSERT_EQ(tdl.ok(), c.ok) << (tdl.ok() ? "accepted" : tdl.error().message);
    if (c.ok) {
        return;
    }
    EXPECT_EQ(tdl.error().code, ErrorCode::UserInput);
    for (const std::string& part : c.message_parts) {
        EXPECT_NE(tdl.error().message.find(part), std::string::npos)
            << "message: " << tdl.error().message << "\nexpected part: " << part;
    }
}

INSTANTIATE_TEST_SUITE_P(Cases, TdlParseTest, testing::ValuesIn(tdlCases()),
                         [](const testing::TestParamInfo<XmlCase>& info) {
                             std::string name;
                             for (char c : std::string(info.param.label)) {
                                 name.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c
                                                                                            : '_');
                             }
                             return name;
                         });

TEST(TdlTest, ReadsAllFields) {
    std::string xml = makeTdl(
        "<description> A test image </description>"
        "<disk><size>512M</size></disk>"
        "<packages><package name=\"curl\"/>"
        "<package name=\"vim\"><repository>extra</repository><file>vim.rpm</file>"
        "<arguments>--quiet</arguments></package></packages>"
        "<repositories><repository name=\"extra\"><url>https://repo.example.org/x</url>"
        "<signed>Yes</signed><persisted>NO</persisted><sslverify>true</sslverify>"
        "<cacert>CA</cacert><clientcert>CERT</clientcert><clientkey>KEY</clientkey>"
        "</repository></repositories>"
        "<files><file name=\"/etc/motd\">hello\n</file>"
        "<file name=\"/etc/b64\" type=\"base64\">\n  aGVs\n  bG8=\n</file></files>"
        "<commands><command name=\"one\" position=\"2\">echo 1 &gt; /x</command>"
        "<command name=\"two\" type=\"base64\">ZWNobyAy</command></commands>",
        "<rootpw> s3cret </rootpw><key>KEY-1</key><kernelparam>console=ttyS0</kernelparam>");
    Result<Tdl> tdl = parseTdl(replaced(xml, "<template>", "<template version=\"1.0\">"));
    ASSERT_TRUE(tdl.ok()) << tdl.error().message;

    EXPECT_EQ(tdl->version, "1.0");
    EXPECT_EQ(tdl->name, "test");
    EXPECT_EQ(tdl->description, "A test image");
    EXPECT_EQ(tdl->os_name, "Debian");
    EXPECT_EQ(tdl->os_version, "12");
    EXPECT_EQ(tdl->os_arch, "x86_64");
    EXPECT_EQ(tdl->install_type, "url");
    EXPECT_EQ(tdl->install_location, "http://deb.debian.org/debian");
    EXPECT_EQ(tdl->rootpw, "s3cret");
    EXPECT_EQ(tdl->os_key, "KEY-1");
    EXPECT_EQ(tdl->kernelparam, "console=ttyS0");
    EXPECT_EQ(tdl->disk_size_bytes, std::optional<uint64_t>(512ULL << 20));

    ASSERT_EQ(tdl->packages.size(), 2u);
    EXPECT_EQ(tdl->packages[0].name, "curl");
    EXPECT_EQ(tdl->packages[1].name, "vim");
    EXPECT_EQ(tdl->packages[1].repository, "extra");
    EXPECT_EQ(tdl->packages[1].file, "vim.rpm");
    EXPECT_EQ(tdl->packages[1].arguments, "--quiet");

    ASSERT_EQ(tdl->repositories.size(), 1u);
    const TdlRepository& repository = tdl->repositories[0];
    EXPECT_EQ(repository.name, "extra");
    EXPECT_EQ(repository.url, "https://repo.example.org/x");
    EXPECT_TRUE(repository.is_signed);
    EXPECT_FALSE(repository.persisted);
    EXPECT_TRUE(repository.sslverify);
    EXPECT_EQ(repository.cacert, "CA");
    EXPECT_EQ(repository.clientcert, "CERT");
    EXPECT_EQ(repository.clientkey, "KEY");

    ASSERT_EQ(tdl->files.size(), 2u);
    EXPECT_EQ(tdl->files[0].name, "/etc/motd");
    EXPECT_EQ(tdl->files[0].type, "raw");
    EXPECT_EQ(tdl->files[0].content, "hello\n");
    EXPECT_EQ(tdl->files[1].type, "base64");
    EXPECT_EQ(tdl->files[1].content, "hello");

    ASSERT_EQ(tdl->commands.size(), 2u);
    EXPECT_EQ(tdl->commands[0].name, "one");
    EXPECT_EQ(tdl->commands[0].content, "echo 1 > /x");
    EXPECT_EQ(tdl->commands[0].position, 2);
    EXPECT_EQ(tdl->commands[1].content, "echo 2");
    EXPECT_EQ(tdl->commands[1].position, 0);
}

TEST(TdlTest, AppliesDefaults) {
    Result<Tdl> tdl = parseTdl(makeTdl(
        "<repositories><repository name=\"r\"><url>http://r/</url></repository></repositories>"));
    ASSERT_TRUE(tdl.ok()) << tdl.error().message;
    EXPECT_EQ(tdl->version, "");
    EXPECT_EQ(tdl->rootpw, "");
    EXPECT_FALSE(tdl->disk_size_bytes.has_value());
    ASSERT_EQ(tdl->repositories.size(), 1u);
    EXPECT_FALSE(tdl->repositories[0].is_signed);
    EXPECT_TRUE(tdl->repositories[0].persisted);
    EXPECT_FALSE(tdl->repositories[0].sslverify);
}

TEST(TdlTest, ReadsDiskSizeUnits) {
    struct SizeCase {
        const char* text;
        uint64_t bytes;
    };
    const SizeCase cases[] = {
        {"10", 10ULL << 30},  {"10G", 10ULL << 30}, {"10gb", 10ULL << 30}, {"2048M", 2ULL << 30},
        {"1 MB", 1ULL << 20}, {"2T", 2ULL << 40},   {"16tb", 16ULL << 40}, {" 4 ", 4ULL << 30},
    };
    for (const SizeCase& c : cases) {
        Result<Tdl> tdl =
            parseTdl(makeTdl("<disk><size>" + std::string(c.text) + "</size></disk>"));
        ASSERT_TRUE(tdl.ok()) << c.text << ": " << tdl.error().message;
        EXPECT_EQ(tdl->disk_size_bytes, std::optional<uint64_t>(c.bytes)) << c.text;
    }
}

TEST(TdlTest, LaterFileReplacesEarlier) {
    Result<Tdl> tdl =
        parseTdl(makeTdl("<files><file name=\"/a\">one</file><file name=\"/b\">b</file></files>"
                         "<files><file name=\"/a\">two</file></files>"));
    ASSERT_TRUE(tdl.ok()) << tdl.error().message;
    ASSERT_EQ(tdl->files.size(), 2u);
    EXPECT_EQ(tdl->files[0].name, "/a");
    EXPECT_EQ(tdl->files[0].content, "two");
    EXPECT_EQ(tdl->files[1].name, "/b");
}

TEST(TdlTest, AcceptsEmptyBase64File) {
    Result<Tdl> tdl = parseTdl(makeTdl("<files><file name=\"/empty\" type=\"base64\"/></files>"));
    ASSERT_TRUE(tdl.ok()) << tdl.error().message;
    ASSERT_EQ(tdl->files.size(), 1u);
    EXPECT_EQ(tdl->files[0].content, "");
}

TEST(TdlTest, NeverQuotesRootPassword) {
    Result<Tdl> tdl = parseTdl(makeTdl("", "<rootpw>hunter2</rootpw><rootpw>hunter3</rootpw>"));
    ASSERT_FALSE(tdl.ok());
    EXPECT_NE(tdl.error().message.find("Expected 0 or 1 root/Administrator password in TDL, saw 2"),
              std::string::npos)
        << tdl.error().message;
    EXPECT_EQ(tdl.error().message.find("hunter"), std::string::npos) << tdl.error().message;
}

TEST(TdlTest, NeverQuotesClientKey) {
    Result<Tdl> tdl =
        parseTdl(makeTdl("<repositories><repository name=\"r\"><url>https://r/</url>"
                         "<clientkey>SECRET-KEY</clientkey></repository></repositories>"));
    ASSERT_FALSE(tdl.ok());
    EXPECT_EQ(tdl.error().message.find("SECRET-KEY"), std::string::npos) << tdl.error().message;
}

TEST(TdlTest, LoadsExampleTemplates) {
    const std::string examples = std::string(IF_SOURCE_DIR) + "/examples/";

    Result<Tdl> minimal = parseTdl(readFile(examples + "debian12-minimal.tdl"));
    ASSERT_TRUE(minimal.ok()) << minimal.error().message;
    EXPECT_EQ(minimal->name, "debian12-minimal");
    EXPECT_EQ(minimal->os_name, "Debian");
    EXPECT_EQ(minimal->os_version, "12");
    EXPECT_EQ(minimal->os_arch, "x86_64");
    EXPECT_EQ(minimal->install_type, "url");
    EXPECT_EQ(minimal->install_location, "http://deb.debian.org/debian");
    EXPECT_EQ(minimal->rootpw, "");
    EXPECT_FALSE(minimal->description.empty());

    Result<Tdl> custom = parseTdl(readFile(examples + "debian12-custom.tdl"));
    ASSERT_TRUE(custom.ok()) << custom.error().message;
    EXPECT_EQ(custom->name, "debian12-custom");
    EXPECT_FALSE(custom->rootpw.empty());
    EXPECT_EQ(custom->disk_size_bytes, std::optional<uint64_t>(4ULL << 30));
    ASSERT_EQ(custom->packages.size(), 2u);
    EXPECT_EQ(custom->packages[0].name, "openssh-server");
    EXPECT_EQ(custom->packages[1].name, "curl");
    ASSERT_EQ(custom->files.size(), 2u);
    EXPECT_EQ(custom->files[0].name, "/etc/motd");
    EXPECT_EQ(custom->files[1].name, "/etc/imagefactory-example/settings.conf");
    EXPECT_EQ(custom->files[1].content,
              "# Written by the debian12-custom example template.\ngreeting=hello\n");
    ASSERT_EQ(custom->commands.size(), 2u);
    EXPECT_NE(custom->commands[0].content.find("&&"), std::string::npos);
    EXPECT_EQ(custom->commands[1].content, "chmod 0644 /etc/motd\n");

    Result<Tdl> mock = parseTdl(readFile(examples + "mock.tdl"));
    ASSERT_TRUE(mock.ok()) << mock.error().message;
    EXPECT_EQ(mock->name, "mock-example");
}

// ---- templateName ------------------------------------------------------------------------

TEST(TemplateNameTest, ReadsTrimmedName) {
    EXPECT_EQ(templateName("<template version=\"1.0\"><name>\n  f14jeos \n</name></template>"),
              "f14jeos");
}

TEST(TemplateNameTest, EmptyWhenAbsentOrBroken) {
    EXPECT_EQ(templateName("<template><os/></template>"), "");
    EXPECT_EQ(templateName("<template><name>a</name><name>b</name></template>"), "");
    EXPECT_EQ(templateName("<template><name>a</name>"), "");
    EXPECT_EQ(templateName("<!DOCTYPE template><template><name>a</name></template>"), "");
    EXPECT_EQ(templateName(""), "");
}

// ---- classifyTemplateArgument ------------------------------------------------------------

class TemplateFormTest : public testing::Test {
  protected:
    void SetUp() override {
        char pattern[] = "/tmp/template_form_XXXXXX";
        ASSERT_NE(mkdtemp(pattern), nullptr);
        directory_ = pattern;
        file_ = directory_ + "/f14.tdl";
        std::ofstream(file_) << "<template><name>x</name></template>";
    }
    void TearDown() override { std::filesystem::remove_all(directory_); }

    std::string directory_;
    std::string file_;
};

TEST_F(TemplateFormTest, AcceptsEveryForm) {
    struct FormCase {
        std::string arg;
        TemplateForm form;
    };
    const FormCase cases[] = {
        {"<template><name>x</name></template>", TemplateForm::Xml},
        {"<template version=\"1.0\"><name>x</name></template>", TemplateForm::Xml},
        {"<?xml version=\"1.0\"?>\n<template\n  version='1.0'/>", TemplateForm::Xml},
        {"<template/>", TemplateForm::Xml},
        {"http://example.org/t.tdl", TemplateForm::Url},
        {"HTTPS://example.org/t.tdl", TemplateForm::Url},
        {"  https://example.org/t.tdl\n", TemplateForm::Url},
        {"0f8fad5b-d9cb-469f-a165-70867728950e", TemplateForm::Uuid},
        {"0F8FAD5B-D9CB-469F-A165-70867728950E", TemplateForm::Uuid},
        {" 0f8fad5b-d9cb-469f-a165-70867728950e\n", TemplateForm::Uuid},
        {file_, TemplateForm::Path},
    };
    for (const FormCase& c : cases) {
        Result<TemplateForm> form = classifyTemplateArgument(c.arg);
        ASSERT_TRUE(form.ok()) << c.arg << ": " << form.error().message;
        EXPECT_EQ(*form, c.form) << c.arg << " -> " << templateFormName(*form);
    }
}

TEST_F(TemplateFormTest, RejectsEverythingElse) {
    struct BadCase {
        std::string arg;
        std::string message_part;
    };
    const BadCase cases[] = {
        {"garbage", "\"garbage\""},
        {"<templates><name>x</name></templates>", "\"<templates><name>x</name></templates>\""},
        {"<template_x/>", "\"<template_x/>\""},
        {"ftp://example.org/t.tdl", "\"ftp://example.org/t.tdl\""},
        {"0f8fad5b-d9cb-469f-a165-70867728950e-extra", "-extra\""},
        {"image 0f8fad5b-d9cb-469f-a165-70867728950e", "\"image 0f8fad5b"},
        {directory_, "\"" + directory_ + "\""},
        {directory_ + "/missing.tdl", "missing.tdl\""},
        {std::string("bad\0name", 8), "\"bad\\x00name\""},
        {"bell\a", "\"bell\\x07\""},
    };
    for (const BadCase& c : cases) {
        Result<TemplateForm> form = classifyTemplateArgument(c.arg);
        ASSERT_FALSE(form.ok()) << c.arg << " -> " << templateFormName(*form);
        EXPECT_EQ(form.error().code, ErrorCode::UserInput);
        EXPECT_NE(form.error().message.find(c.message_part), std::string::npos)
            << form.error().message;
        EXPECT_NE(form.error().message.find("URL, the UUID"), std::string::npos)
            << form.error().message;
    }
}

TEST_F(TemplateFormTest, RejectsEmptyArgument) {
    for (const char* arg : {"", "   ", "\n\t"}) {
        Result<TemplateForm> form = classifyTemplateArgument(arg);
        ASSERT_FALSE(form.ok());
        EXPECT_EQ(form.error().code, ErrorCode::UserInput);
        EXPECT_NE(form.error().message.find("template argument is empty"), std::string::npos)
            << form.error().message;
    }
}

TEST_F(TemplateFormTest, CutsLongValueInMessage) {
    std::string arg = std::string(70, 'x') + std::string(200, 'y');
    Result<TemplateForm> form = classifyTemplateArgument(arg);
    ASSERT_FALSE(form.ok());
    const std::string& message = form.error().message;
    EXPECT_NE(message.find("\"" + std::string(70, 'x') + std::string(10, 'y') + "\"..."),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("(270 bytes)"), std::string::npos) << message;
    EXPECT_EQ(message.find(std::string(11, 'y')), std::string::npos) << message;
}

}  // namespace
}  // namespace imagefactory
