from enum import StrEnum


class AspectRatio(StrEnum):
    CUSTOM = "custom"
    V1_1 = "1:1"
    V16_9 = "16:9"
    V3_2 = "3:2"
    V2_3 = "2:3"
    V4_5 = "4:5"
    V5_4 = "5:4"
    V9_16 = "9:16"
    V3_4 = "3:4"
    V4_3 = "4:3"

    def __str__(self) -> str:
        return str(self.value)
