from enum import StrEnum


class AspectRatio(StrEnum):
    V1_1 = "1:1"
    V16_9 = "16:9"
    V21_9 = "21:9"
    V3_2 = "3:2"
    V2_3 = "2:3"
    V4_5 = "4:5"
    V5_4 = "5:4"
    V3_4 = "3:4"
    V4_3 = "4:3"
    V9_16 = "9:16"
    V9_21 = "9:21"

    def __str__(self) -> str:
        return str(self.value)
