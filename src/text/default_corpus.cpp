// Original text written for Enclave; see default_corpus.h. Kept as raw
// string literals (one per document) so the bytes are exactly what we train on.
#include "text/default_corpus.h"

namespace enclave {

namespace {
constexpr const char* kDocProse =
    R"corpus(The lighthouse keeper rose before dawn, as she had done for eleven years, and climbed the ninety-two steps with a thermos of tea in one hand and a notebook in the other.
Every morning she wrote down the same four things: the wind, the swell, the color of the sky, and the number of boats that had passed in the night.
Nobody had asked her to keep these notes. The lamp had been automatic for a decade, and the coast guard read its instruments from a screen two hundred kilometers away.
Still, she believed that a place is known only by the people who pay attention to it, and attention, she said, is a habit before it is a skill.
When the storm came in late October, the instruments failed first. The notebook did not.
She read the pressure from an old brass barometer, counted the seconds between the flashes of lightning, and radioed her estimates to the harbor every half hour.
Later the harbor master told her that her numbers had been closer to the truth than the satellite forecast. She shrugged and asked whether the bakery had reopened.

A small team can do surprising work when it is allowed to finish things.
The hardest part of any project is rarely the first version; it is the second, when you learn what the first one got wrong and must decide what to keep.
Good teams write down their decisions, including the ones they regret, because a decision without a reason is a trap for the next person who reads the code.
They measure before they optimize, and they measure again afterwards, because a speedup that nobody can reproduce is only a rumor.
They prefer boring tools that fail loudly over clever tools that fail quietly.
And they leave the campsite a little cleaner than they found it: a clearer error message here, a missing test there, a comment that explains why rather than what.

On Tuesdays the market filled the square from the fountain to the town hall.
Farmers sold potatoes, leeks, late tomatoes and bunches of dill; a man with a grey beard sold honey in jars of three sizes, and a child sold drawings of cats for one coin each.
The baker's stall ran out of rye bread by nine, so the regulars came early and the tourists learned the hard way.
Someone always played the accordion near the fountain, badly but with great enthusiasm, and by noon the pigeons had learned to wait under the cheese stand.
In winter the market shrank to a few hardy sellers with gloves and thermoses, but it never closed, not even in the year of the great snow.

How does a river find the sea? It does not plan a route. It simply goes downhill, again and again, and the valley it carves is the record of all those small decisions.
Engineers like this picture because it reminds them that a system is shaped by its constraints more than by its intentions.
If you want water to go somewhere else, you do not argue with it; you change the slope.
The same is true of software teams, of cities, and of habits: make the right thing the easy thing, and most of the work takes care of itself.

The recipe is simple. Soak one cup of dried chickpeas overnight in plenty of cold water.
In the morning, drain them, cover with fresh water, add a bay leaf and a pinch of baking soda, and simmer for about an hour, until they are soft enough to crush with a spoon.
Meanwhile, slice two onions thinly and cook them slowly in olive oil with a little salt until they turn deep golden, which takes longer than you think, at least twenty-five minutes.
Stir in a spoonful of cumin, a spoonful of paprika and two crushed cloves of garlic, cook for one more minute, then add the drained chickpeas and a ladle of their cooking water.
Finish with lemon juice, chopped parsley and black pepper. It tastes better the next day, and better still on the third, if it lasts that long.

Mathematics rewards patience. A proof that looks like magic on the blackboard is usually the last of many attempts, most of which went nowhere.
Students who learn this early stop believing that some people are simply "math people" and start believing that confusion is a normal stage of understanding.
The trick is to write things down: the definitions, the small examples, the cases that break the pattern.
A counterexample is not a failure; it is information. It tells you where the edge of the idea is.

The archive occupied the basement of the old customs house, three long rooms with vaulted ceilings and shelves that reached almost to the bricks.
Most of the boxes held shipping manifests: cargoes of salt, timber, copper wire, canned fish, bicycles, sewing machines, and once, improbably, a grand piano.
The archivist, a quiet man named Teodor, could find any year in under a minute, but he refused to guess at anything he had not read himself.
"Memory is a rumor," he liked to say, "and paper is a witness. Witnesses can lie, but at least they can be cross-examined."

Every model is wrong, the statistician reminded the class, but some models are useful, and the useful ones tell you how wrong they are.
A forecast of seventy percent chance of rain is honest only if, over many such days, it rains on about seven in ten of them.
Calibration is a promise about the long run. Accuracy on one day proves nothing; accuracy over a thousand days proves a great deal.
This is why we keep records, why we compare our predictions with what actually happened, and why we do not quietly change the question after the answer arrives.

The night train left the capital at 22:40 and reached the coast at 06:15, if nothing went wrong, which was rare.
The sleeper cars had narrow bunks, clean sheets and a small folding table; the conductor brought tea in glasses with metal holders, exactly as he had for thirty years.
Passengers who could not sleep gathered in the corridor and watched the dark fields slide past, broken now and then by the lights of a station where nobody got on.
By morning the air smelled of salt and diesel, and the sea appeared suddenly between two hills, grey and enormous and indifferent.

Questions worth asking before you ship: What happens when the input is empty? When it is enormous? When it is almost right?
What does the user see when the disk is full, when the network is down, when the clock jumps backwards?
Can a second person reproduce your result from the notes you left? Can you, six months from now?
If the answer to any of these is "I don't know," that is not a reason to panic. It is a reason to write a test.
)corpus";

constexpr const char* kDocProse2 =
    R"corpus(Dear Ms. Okafor, thank you for your letter of 14 March. I have checked the invoice you mentioned and you are right: the second line was charged twice.
A corrected invoice is attached. The difference, 312.50 euros, will be refunded to the account you used for the original payment within five working days.
Please accept our apologies for the trouble. If anything else looks wrong, reply to this message and I will look into it personally.
With kind regards, Daniel Reyes, Accounts Department.

Meeting notes, weekly planning. Present: Ana, Bo, Chidi, Dmitri, Elif. Apologies: Farah.
1. The data import is finished except for the scanned forms, which need a second pass of the text extractor.
2. Bo will rerun the evaluation suite on the new candidate and compare it with the production model before Friday.
3. Elif reported that two customers asked for longer context windows; we agreed to measure memory use first.
4. Next meeting on Thursday at 10:00 in the small room, not the big one, because the projector is still broken.

Once upon a time there was a fox who wanted to learn to count. She began with her paws: one, two, three, four.
Then she counted the trees at the edge of the forest, the stones in the stream and the stars above the hill, and every night she got a little further before falling asleep.
One evening an owl asked her why she bothered. "Because," said the fox, "I would like to know how many of everything there is."
The owl laughed, not unkindly, and said that some things are counted best by forgetting the numbers and simply looking.
The fox thought about this for a long time, and then she went back to counting, because she was a fox and foxes are stubborn.

The weather station on the ridge recorded the following summary for the month: mean temperature 11.4 degrees, maximum 23.9 on the 17th, minimum -2.1 on the 3rd.
Total rainfall was 87 millimeters, about 15% below the long-term average, with the wettest day on the 22nd (19.6 mm).
Wind gusts exceeded 80 km/h on four days. Sunshine totaled 162 hours. Snow fell briefly on the 2nd and did not settle.

It is easy to confuse activity with progress. A dashboard full of green lights can hide a project that is going nowhere, and a quiet week can hide the most important change of the year.
The only reliable test is to ask what a user can do today that they could not do last month.
If the answer is "nothing yet," that may be fine, but it should be said out loud, together with the date when the answer will change.

Instructions for the shared workshop: wear eye protection at the lathe and the grinder. Tie back long hair. Never leave a running machine unattended.
Return tools to the wall where their outlines are painted. Sweep the floor at the end of the session, and empty the dust bag of the vacuum when it is more than half full.
Report any damaged cable or blade immediately to the supervisor on duty; do not try to repair it yourself. First aid kit: to the left of the door, second shelf.

The library closes at eight on weekdays and at five on Saturdays. It is closed on Sundays and public holidays.
Members may borrow up to twelve items at a time for three weeks, and may renew them twice online unless another member has reserved them.
Quiet study rooms can be booked for two hours per day. Group rooms hold six people and have a whiteboard, a screen and an unreliable coffee machine.

She asked the old gardener what the secret of good soil was. "Time," he said, "and leaves, and not digging it up every spring to see whether it is working."
He showed her the compost heaps, three of them, at different stages: one fresh and steaming, one dark and crumbly, one ready to spread.
"The worms do the real work," he said. "My job is to feed them and stay out of the way."

In a distributed system, every message can be late, lost, duplicated or reordered, and every machine can stop without warning.
Designs that survive this assume nothing and check everything: each write carries a version, each request carries an identifier, and each reply says exactly what it acknowledges.
When in doubt, prefer an operation that can be safely repeated. Idempotence is cheaper than cleverness.
)corpus";

constexpr const char* kDocCode = R"corpus(#include <cstdio>
#include <vector>

// Returns the index of the first element not less than value, or size() if none.
int lower_bound_index(const std::vector<int>& xs, int value) {
  int lo = 0;
  int hi = static_cast<int>(xs.size());
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (xs[mid] < value) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

int main() {
  std::vector<int> xs = {1, 3, 5, 7, 9, 11};
  for (int v : {0, 4, 9, 12}) std::printf("%d -> %d\n", v, lower_bound_index(xs, v));
  return 0;
}

def moving_average(values, window=3):
    """Returns the mean of each run of `window` consecutive values."""
    if window <= 0:
        raise ValueError("window must be positive")
    out = []
    total = 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        if i >= window - 1:
            out.append(total / window)
    return out


class Counter:
    def __init__(self):
        self.counts = {}

    def add(self, key, n=1):
        self.counts[key] = self.counts.get(key, 0) + n

    def most_common(self, k=10):
        return sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))[:k]


if __name__ == "__main__":
    c = Counter()
    for word in "the cat and the hat and the bat".split():
        c.add(word)
    print(c.most_common(3))
    print(moving_average([1, 2, 3, 4, 5, 6], window=2))

SELECT d.name, COUNT(*) AS n_runs, AVG(r.duration_s) AS mean_duration
FROM runs r
JOIN datasets d ON d.id = r.dataset_id
WHERE r.status = 'finished' AND r.started_at >= '2024-01-01'
GROUP BY d.name
HAVING COUNT(*) > 3
ORDER BY n_runs DESC, d.name ASC
LIMIT 20;

{"model": "tiny-llama", "temperature": 0.7, "top_p": 0.95, "max_tokens": 256, "stop": ["\n\n", "</s>"], "stream": true}
{"messages": [{"role": "system", "content": "You answer briefly."}, {"role": "user", "content": "What is 17 * 23?"}, {"role": "assistant", "content": "391"}]}
{"prompt": "Translate to French: good morning", "completion": "bonjour"}

#!/usr/bin/env bash
set -euo pipefail
out_dir="${1:-./out}"
mkdir -p "$out_dir"
for f in data/*.jsonl; do
  name="$(basename "$f" .jsonl)"
  wc -l < "$f" > "$out_dir/$name.count"
  echo "counted $name"
done
grep -c '"role": "user"' data/*.jsonl | sort -t: -k2 -n | tail -n 5

fn parse_port(s: &str) -> Result<u16, String> {
    let n: u32 = s.trim().parse().map_err(|e| format!("not a number: {e}"))?;
    if n == 0 || n > 65535 {
        return Err(format!("port {n} out of range"));
    }
    Ok(n as u16)
}

function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

const button = document.querySelector("#save");
button.addEventListener("click", debounce(() => saveDraft({ id: 42, title: "Notes" }), 300));

package main

import (
	"fmt"
	"strings"
)

func reverseWords(s string) string {
	words := strings.Fields(s)
	for i, j := 0, len(words)-1; i < j; i, j = i+1, j-1 {
		words[i], words[j] = words[j], words[i]
	}
	return strings.Join(words, " ")
}

func main() {
	fmt.Println(reverseWords("one two three four"))
}

model:
  name: tiny
  hidden_size: 256
  n_layer: 4
  n_head: 4
train:
  lr: 3.0e-4
  lr_min: 3.0e-5
  warmup_steps: 100
  batch_size: 16
  seed: 1234

CREATE TABLE IF NOT EXISTS artifacts (
  id TEXT PRIMARY KEY,
  sha256 TEXT NOT NULL UNIQUE,
  size_bytes INTEGER NOT NULL CHECK (size_bytes >= 0),
  created_at TEXT NOT NULL DEFAULT (datetime('now'))
);

x = torch.randn(4, 16, 64)  # (B, T, C)
q = x.view(4, 16, 8, 8).transpose(1, 2)  # (B, n_head, T, head_dim)
att = (q @ q.transpose(-2, -1)) * (1.0 / math.sqrt(8))
att = att.masked_fill(mask[:, :, :16, :16] == 0, float("-inf")).softmax(dim=-1)
)corpus";

constexpr const char* kDocNumbers =
    R"corpus(Order 10482: 3 x widget A at 4.99 = 14.97; 1 x cable (2 m) at 7.50; shipping 5.00; total 27.47 EUR, paid 2024-05-03 14:22 UTC.
Order 10483: 12 x bolt M8x40 at 0.35 = 4.20; 12 x nut M8 at 0.10 = 1.20; total 5.40 EUR, paid 2024-05-03 15:01 UTC.
Population (thousands): 1990 4,512; 2000 4,887; 2010 5,263; 2020 5,611; growth 1990-2020: 24.4%.
Phone: +1 (555) 010-2938. Room 4B, floor 3. Postcode 10115. Flight LH 2471 departs 07:35 from gate A12.
Measurements: 0.001, 0.01, 0.1, 1, 10, 100, 1000, 10000, 100000, 1000000; pi is about 3.14159265, e is about 2.71828183.
Powers of two: 1 2 4 8 16 32 64 128 256 512 1024 2048 4096 8192 16384 32768 65536 131072 262144 524288 1048576.
Squares: 1 4 9 16 25 36 49 64 81 100 121 144 169 196 225 256 289 324 361 400.
Primes below 100: 2 3 5 7 11 13 17 19 23 29 31 37 41 43 47 53 59 61 67 71 73 79 83 89 97.
Step 100/2000 | loss 4.2131 | lr 3.00e-04 | 12,345 tok/s | eta 00:14:37
Step 200/2000 | loss 3.6620 | lr 2.98e-04 | 12,401 tok/s | eta 00:13:52
Step 300/2000 | loss 3.3015 | lr 2.95e-04 | 12,388 tok/s | eta 00:13:10
Version 1.2.3 was released on 2023-11-30; version 1.3.0 followed on 2024-02-14 with 57 fixes and 12 new features.
The recipe serves 4: 250 g flour, 2 eggs, 300 ml milk, 1/2 tsp salt, 25 g butter. Bake at 180 C (356 F) for 35-40 minutes.
Temperatures this week (C): Mon 12/4, Tue 14/6, Wed 9/3, Thu 7/-1, Fri 10/2, Sat 13/5, Sun 15/8.
IPv4 10.0.0.1/24, 192.168.1.254; port 8080, 443, 22. Hash sha256:3f786850e387550fdab836ed7e6dc881de23001b (truncated).
Scores: accuracy 0.874, precision 0.912, recall 0.803, f1 0.854 (n=2,500; 95% CI 0.861-0.887).
Coordinates: 52.5200 N, 13.4050 E; elevation 34 m. Distance 1,234.5 km; duration 12 h 47 min.
)corpus";

constexpr const char* kDocKorean = R"corpus(안녕하세요. 오늘은 날씨가 맑고 바람이 조금 붑니다.
저는 아침마다 공원을 산책하고 커피를 한 잔 마십니다.
이 도서관은 평일에는 오후 여덟 시에 문을 닫습니다.
회의는 목요일 오전 열 시에 작은 회의실에서 열립니다.
새로운 모델을 평가하기 전에 데이터를 먼저 확인해야 합니다.
한국어 문장과 영어 문장이 섞여 있어도 토크나이저는 잘 동작해야 합니다.
김치찌개를 만들려면 잘 익은 김치, 돼지고기, 두부, 파가 필요합니다.
서울에서 부산까지 기차로 약 두 시간 반이 걸립니다.
질문이 있으면 언제든지 물어보세요. 최대한 빨리 답변드리겠습니다.
오류 메시지에는 파일 이름과 필드, 그리고 이유가 들어가야 합니다.
우리는 작은 팀이지만 끝까지 일을 마무리하는 것을 중요하게 생각합니다.
봄에는 벚꽃이 피고, 여름에는 비가 많이 오며, 가을에는 단풍이 아름답습니다.
)corpus";

constexpr const char* kDocEmoji = R"corpus(Great job, team! 🎉🎉 The release is out 🚀
Thanks 🙏 see you tomorrow 👋
Weather today: ☀️ then 🌧️ later, maybe ⛈️ tonight.
Reactions: 👍 12, 👍🏽 4, ❤️ 9, 😂 7, 😮 2
Family: 👨‍👩‍👧‍👦 and 👩‍💻 working late, ☕ in hand.
Flags: 🇰🇷 🇩🇪 🇧🇷 🇯🇵
Status: ✅ tests passed, ⚠️ 2 warnings, ❌ 0 failures
좋아요 👍 감사합니다 😊
)corpus";

constexpr const char* kDocProse3 =
    R"corpus(The old bridge was built in 1887 from local granite, and for most of its life it carried carts, then trams, then buses, then nothing at all.
When the new road opened upstream, the town argued for a decade about whether to repair the bridge or pull it down.
In the end a group of volunteers raised the money to repair it for people on foot and on bicycles, and now it is the busiest crossing in town.
On summer evenings people stand in the middle and watch the swifts, and nobody remembers that the argument was ever serious.

There is a particular pleasure in fixing something small that has annoyed you for a long time: a squeaking door, a slow test, a confusing sentence in a manual.
The change takes ten minutes, and afterwards you wonder why you waited so long.
Usually the answer is that the annoyance was never quite big enough to become a task.
Keeping a short list of such things, and doing one of them every Friday afternoon, is one of the cheapest ways to make a place better.

The bakery opens at six. By half past, the first customers are already in line: the nurse coming off the night shift, the builder with his flask, the retired teacher who buys exactly one croissant and reads the paper at the window table.
The baker knows all of them by name and most of them by order. When someone new comes in, she asks where they are from and remembers the answer.
"A shop is a conversation," she says, "that happens to sell bread."

Learning a language as an adult is humbling. You know what you want to say, and you can say it only as a child would.
But there are compensations: the first joke you understand, the first dream in the new language, the first time someone asks you for directions and you give them correctly.
Progress is not a straight line. It is a staircase with long landings, and the landings are where most of the learning happens, even when it does not feel like it.

A checklist for backing up a database: stop writes or use the engine's online backup API; copy to a second disk; verify the copy by restoring it somewhere else; record the time, size and checksum; keep at least three generations; test a restore every month.
Most teams do the first two steps. The teams that sleep well do all six.

Ask a child to draw a tree and you will usually get a brown trunk and a green cloud. Ask them to look at a real tree for five minutes first and the drawing changes completely: roots, bark, branches that fork and fork again, light coming through the leaves.
Looking is a skill, and like other skills it improves with practice and with a teacher who asks good questions.
What color is the shadow? Where does the branch get thinner? What is behind the tree?

The ferry crossed the strait twice a day, weather permitting, and weather did not always permit.
On calm days the trip took forty minutes and the passengers stood at the rail taking photographs of the islands.
On rough days it took ninety, and the passengers sat very still in the lower cabin and did not take photographs of anything.
The crew, who had seen everything, handed out paper bags and peppermints with the same calm expression in both kinds of weather.
)corpus";

}  // namespace

const std::vector<std::string>& default_corpus() {
  static const std::vector<std::string> corpus = {
      kDocProse, kDocProse2, kDocCode, kDocNumbers, kDocKorean, kDocEmoji, kDocProse3,
  };
  return corpus;
}

}  // namespace enclave
