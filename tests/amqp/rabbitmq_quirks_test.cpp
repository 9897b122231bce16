#include "amqp/rabbitmq_quirks.hpp"

#include <gtest/gtest.h>

namespace imagefactory::amqp {
namespace {

qmf::Message listMessage(const std::string& opcode, size_t items) {
    qmf::Message message;
    message.properties["qmf.opcode"] = qmf::Value(opcode);
    qmf::List list;
    for (size_t i = 0; i < items; ++i) {
        list.push_back(qmf::Value(qmf::Map{{"i", qmf::Value(uint64_t{i})}}));
    }
    message.body = qmf::Value(list);
    return message;
}

class RabbitMqQuirksTest : public ::testing::Test {};

TEST_F(RabbitMqQuirksTest, KeepsShortListsAndMaps) {
    for (size_t items : {0u, 1u}) {
        auto parts = splitListBodyForRabbitMq(listMessage("_query_response", items));
        ASSERT_TRUE(parts.ok());
        EXPECT_EQ(parts->size(), 1u);
    }
    qmf::Message map;
    map.body = qmf::Value(qmf::Map{{"l", qmf::Value(qmf::List{qmf::Value(1), qmf::Value(2)})}});
    auto parts = splitListBodyForRabbitMq(map);
    ASSERT_TRUE(parts.ok());
    EXPECT_EQ(parts->size(), 1u);
}

TEST_F(RabbitMqQuirksTest, SplitsQueryResponseIntoPartials) {
    auto parts = splitListBodyForRabbitMq(listMessage("_query_response", 3));
    ASSERT_TRUE(parts.ok());
    ASSERT_EQ(parts->size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
        const auto& part = (*parts)[i];
        ASSERT_NE(part.body.list(), nullptr);
        EXPECT_EQ(part.body.list()->size(), 1u);
        EXPECT_EQ(part.body.list()->front().map()->at("i"), qmf::Value(uint64_t{i}));
        EXPECT_EQ(part.properties.count("partial"), i < 2 ? 1u : 0u) << "part " << i;
    }
}

TEST_F(RabbitMqQuirksTest, KeepsPartialOnLastPartOfPartialResponse) {
    auto message = listMessage("_query_response", 2);
    message.properties["partial"] = qmf::Value();
    auto parts = splitListBodyForRabbitMq(message);
    ASSERT_TRUE(parts.ok());
    EXPECT_EQ(parts->back().properties.count("partial"), 1u);
}

TEST_F(RabbitMqQuirksTest, SplitsIndicationsWithoutPartial) {
    auto parts = splitListBodyForRabbitMq(listMessage("_data_indication", 2));
    ASSERT_TRUE(parts.ok());
    ASSERT_EQ(parts->size(), 2u);
    EXPECT_EQ(parts->front().properties.count("partial"), 0u);
}

TEST_F(RabbitMqQuirksTest, RejectsOtherLongLists) {
    EXPECT_FALSE(splitListBodyForRabbitMq(listMessage("_agent_locate_request", 2)).ok());
}

}  // namespace
}  // namespace imagefactory::amqp
