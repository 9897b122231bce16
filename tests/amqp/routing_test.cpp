#include "amqp/routing.hpp"

#include <gtest/gtest.h>

#include "amqp/broker_address.hpp"

namespace imagefactory::amqp {
namespace {

class BrokerAddressTest : public ::testing::Test {};

TEST_F(BrokerAddressTest, ParsesValidForms) {
    struct Case {
        std::string text;
        std::string host;
        uint16_t port;
        std::string user;
        std::string password;
    };
    std::vector<Case> cases = {
        {"localhost", "localhost", 5672, "", ""},
        {"127.0.0.1:5682", "127.0.0.1", 5682, "", ""},
        {"amqp://broker.example", "broker.example", 5672, "", ""},
        {"amqp://broker:1234", "broker", 1234, "", ""},
        {"amqp://guest:guest@127.0.0.1:5672", "127.0.0.1", 5672, "guest", "guest"},
        {"amqp://user@host", "host", 5672, "user", ""},
        {"amqp://us%40er:p%3Ass@host/", "host", 5672, "us@er", "p:ss"},
        {"amqp://u:p@ss@host", "host", 5672, "u", "p@ss"},
        {"[::1]:5673", "::1", 5673, "", ""},
        {"amqp://[::1]", "::1", 5672, "", ""},
    };
    for (const auto& c : cases) {
        auto parsed = parseBrokerAddress(c.text);
        ASSERT_TRUE(parsed.ok()) << c.text << ": " << parsed.error().message;
        EXPECT_EQ(parsed->host, c.host) << c.text;
        EXPECT_EQ(parsed->port, c.port) << c.text;
        EXPECT_EQ(parsed->user, c.user) << c.text;
        EXPECT_EQ(parsed->password, c.password) << c.text;
    }
}

TEST_F(BrokerAddressTest, RejectsHostileForms) {
    std::vector<std::string> cases = {
        "",
        ":5672",
        "host:",
        "host:0",
        "host:65536",
        "host:99999999999999999999",
        "host:12ab",
        "host:-1",
        "amqps://host",
        "http://host",
        "amqp://",
        "amqp://@host",
        "amqp://host/vhost",
        "amqp://host?x=1",
        "amqp://host#frag",
        "amqp://user:pa%zzss@host",
        "amqp://user:pass%2@host",
        "ho st",
        "host;rm -rf /",
        "[::1",
        "[::1]x",
        "[zz::1]:5672",
        "[]:5672",
        std::string("host\0name", 9),
        "amqp://a:b@[::1]:70000",
    };
    for (const auto& text : cases) {
        auto parsed = parseBrokerAddress(text);
        EXPECT_FALSE(parsed.ok()) << text;
    }
}

TEST_F(BrokerAddressTest, ErrorNamesValueButNotPassword) {
    auto parsed = parseBrokerAddress("amqp://user:secret@host:notaport");
    ASSERT_FALSE(parsed.ok());
    EXPECT_NE(parsed.error().message.find("amqp://user:***@host:notaport"), std::string::npos);
    EXPECT_EQ(parsed.error().message.find("secret"), std::string::npos);
}

TEST_F(BrokerAddressTest, DisplayOmitsPassword) {
    auto parsed = parseBrokerAddress("amqp://user:secret@host:1");
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed->display(), "user@host:1");
    EXPECT_EQ(parsed->hostPort(), "host:1");
}

TEST_F(BrokerAddressTest, ParsesBrokerTypes) {
    EXPECT_EQ(parseBrokerType("auto").value(), BrokerType::Auto);
    EXPECT_EQ(parseBrokerType("qpidd").value(), BrokerType::Qpidd);
    EXPECT_EQ(parseBrokerType("rabbitmq").value(), BrokerType::RabbitMq);
    EXPECT_FALSE(parseBrokerType("RabbitMQ ").ok());
}

TEST_F(BrokerAddressTest, DetectsStyleFromProduct) {
    EXPECT_EQ(brokerTypeFromProduct("RabbitMQ"), BrokerType::RabbitMq);
    EXPECT_EQ(brokerTypeFromProduct("qpid-cpp"), BrokerType::Qpidd);
    EXPECT_EQ(brokerTypeFromProduct(""), BrokerType::Qpidd);
}

class RoutingTest : public ::testing::Test {};

TEST_F(RoutingTest, RabbitSourceIsExchangeAddress) {
    auto spec = sourceFor(BrokerType::RabbitMq, {"qmf.default.topic", "console.#"});
    EXPECT_EQ(spec.address, "/exchange/qmf.default.topic/console.#");
    EXPECT_TRUE(spec.filter_descriptor.empty());
}

TEST_F(RoutingTest, QpiddSourceUsesLegacyFilters) {
    auto topic = sourceFor(BrokerType::Qpidd, {"qmf.default.topic", "console.#"});
    EXPECT_EQ(topic.address, "qmf.default.topic");
    EXPECT_EQ(topic.filter_descriptor, kTopicBindingDescriptor);
    EXPECT_EQ(topic.filter_key, "console.#");
    auto direct = sourceFor(BrokerType::Qpidd, {"qmf.default.direct", "redhat.com:if:1"});
    EXPECT_EQ(direct.address, "qmf.default.direct");
    EXPECT_EQ(direct.filter_descriptor, kDirectBindingDescriptor);
    EXPECT_EQ(direct.filter_key, "redhat.com:if:1");
}

TEST_F(RoutingTest, NodeRoutesBySubject) {
    auto rabbit = routeToNode(BrokerType::RabbitMq, "qmf.default.topic", "agent.ind.heartbeat");
    EXPECT_EQ(rabbit.target, "/exchange/qmf.default.topic");
    EXPECT_EQ(rabbit.subject, "agent.ind.heartbeat");
    auto qpidd = routeToNode(BrokerType::Qpidd, "qmf.default.topic", "agent.ind.heartbeat");
    EXPECT_EQ(qpidd.target, "qmf.default.topic");
    EXPECT_EQ(qpidd.node, "qmf.default.topic");
}

TEST_F(RoutingTest, ResolvesReplyToForms) {
    struct Case {
        BrokerType style;
        std::string reply_to;
        std::string target;
        std::string node;
        std::string subject;
    };
    std::vector<Case> cases = {
        {BrokerType::RabbitMq, "/exchange/qmf.default.direct/imagefactory-console.1",
         "/exchange/qmf.default.direct", "qmf.default.direct", "imagefactory-console.1"},
        {BrokerType::RabbitMq, "qmf.default.topic/direct-console.1", "/exchange/qmf.default.topic",
         "qmf.default.topic", "direct-console.1"},
        {BrokerType::RabbitMq, "/exchange/amq.direct", "/exchange/amq.direct", "amq.direct", ""},
        {BrokerType::RabbitMq, "/exchange/x/a/b", "/exchange/x", "x", "a/b"},
        {BrokerType::RabbitMq, "/queue/replies", "/queue/replies", "/queue/replies", ""},
        {BrokerType::RabbitMq, "plainqueue", "plainqueue", "plainqueue", ""},
        {BrokerType::Qpidd, "qmf.default.topic/direct-console.1", "qmf.default.topic",
         "qmf.default.topic", "direct-console.1"},
        {BrokerType::Qpidd, "amq.direct/reply-1", "amq.direct", "amq.direct", "reply-1"},
        {BrokerType::Qpidd, "reply-queue", "reply-queue", "reply-queue", ""},
        {BrokerType::Qpidd, "/exchange/qmf.default.direct/c", "qmf.default.direct",
         "qmf.default.direct", "c"},
    };
    for (const auto& c : cases) {
        auto route = routeToReplyTo(c.style, c.reply_to);
        ASSERT_TRUE(route.ok()) << c.reply_to << ": " << route.error().message;
        EXPECT_EQ(route->target, c.target) << c.reply_to;
        EXPECT_EQ(route->node, c.node) << c.reply_to;
        EXPECT_EQ(route->subject, c.subject) << c.reply_to;
    }
}

TEST_F(RoutingTest, RejectsBadReplyTo) {
    std::vector<std::pair<BrokerType, std::string>> cases = {
        {BrokerType::RabbitMq, ""},
        {BrokerType::RabbitMq, "/exchange/"},
        {BrokerType::RabbitMq, "/exchange//key"},
        {BrokerType::RabbitMq, "/unknown/x"},
        {BrokerType::Qpidd, "/queue/x"},
        {BrokerType::Qpidd, "node/key\nwith newline"},
        {BrokerType::RabbitMq, std::string(5000, 'a')},
    };
    for (const auto& [style, reply_to] : cases) {
        EXPECT_FALSE(routeToReplyTo(style, reply_to).ok()) << reply_to.substr(0, 40);
    }
}

}  // namespace
}  // namespace imagefactory::amqp
