from enum import StrEnum


class Megapixels(StrEnum):
    V1 = "1"
    V0_25 = "0.25"

    def __str__(self) -> str:
        return str(self.value)
