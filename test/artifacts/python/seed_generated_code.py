# 导入生成的protobuf代码


# 导入消息和服务
from recommender.v1 import behavior_pb2, behavior_pb2_grpc
# 视频场景数据
video_data = behavior_pb2.VideoScenarioData(
    duration=180,
    watch_duration=175,
    completion_rate=0.97,
    video_quality="1080p",
    is_fullscreen=True,
    playback_speed=1.0,
    seek_positions=[30, 60, 90],
    buffer_time=1200
)

# 封装为ScenarioSpecificData
scenario_data = behavior_pb2.ScenarioSpecificData(
    video_data=video_data
)

# 创建事件
event = behavior_pb2.BehaviorEvent(
    tenant_id="mymx",
    scenario_id="vlog_feed",
    user_id="user_12345",
    item_id="video_67890",
    action_type=behavior_pb2.ACTION_TYPE_PLAY_END,
    context=behavior_pb2.BehaviorContext(
        device_type=behavior_pb2.DEVICE_TYPE_MOBILE
    ),
    scenario_data=scenario_data
)
# 检查使用了哪个场景数据
which = scenario_data.WhichOneof('data')

if which == 'video_data':
    video_data = scenario_data.video_data
    print(f"Duration: {video_data.duration}")
elif which == 'ecommerce_data':
    ecommerce_data = scenario_data.ecommerce_data
    print(f"Price: {ecommerce_data.price}")
