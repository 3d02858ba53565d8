#include "eval/word_lists.h"

namespace enclave::eval {

const std::vector<std::string_view>& english_words() {
  static const std::vector<std::string_view> words = {
      "apple",  "river",  "garden", "window", "pencil", "orange", "planet", "silver", "forest",
      "butter", "camera", "doctor", "engine", "flower", "guitar", "hammer", "island", "jacket",
      "kitten", "ladder", "magnet", "number", "ocean",  "pepper", "rabbit", "summer", "ticket",
      "violin", "winter", "yellow", "bridge", "candle", "dragon", "friend", "market", "nature",
      "office", "puzzle", "rocket", "school", "tomato", "wallet", "basket", "cotton", "desert",
      "finger", "golden", "honey",  "lemon",  "mirror", "needle", "paper",  "quiet",  "stone",
      "table",  "water",  "cloud",  "light",  "music",  "bread",
  };
  return words;
}

const std::vector<std::string_view>& korean_words() {
  static const std::vector<std::string_view> words = {
      "사과",     "바나나", "학교",     "컴퓨터",   "사랑",   "하늘",   "바다",     "나무",
      "도서관",   "자동차", "비행기",   "우산",     "고양이", "강아지", "선생님",   "병원",
      "시장",     "지하철", "한국어",   "음악",     "커피",   "기차",   "연필",     "공책",
      "의자",     "책상",   "창문",     "시계",     "가방",   "신발",   "모자",     "안경",
      "냉장고",   "세탁기", "텔레비전", "운동장",   "놀이터", "박물관", "미술관",   "우체국",
      "경찰서",   "소방서", "대학교",   "아파트",   "주차장", "할머니", "할아버지", "어머니",
      "아버지",   "친구",   "가족",     "여름",     "겨울",   "봄바람", "무지개",   "눈사람",
      "해바라기", "딸기",   "포도",     "고등학교",
  };
  return words;
}

}  // namespace enclave::eval
