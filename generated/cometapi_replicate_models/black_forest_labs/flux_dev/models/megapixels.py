from enum import StrEnum


class Megapixels(StrEnum):
    V0_25 = "0.25"
    V1 = "1"

    def __str__(self) -> str:
        return str(self.value)
