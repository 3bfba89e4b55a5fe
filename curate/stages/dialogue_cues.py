"""Cue patterns of the dialogue-quality signals: one source of truth for what counts as a formulaic opening,
AI-assistant boilerplate, a slogan, a question and a response to crisis risk. (Whether a seeker turn speaks
of risk is the crisis-risk tagger's: `curate/models/risk_cues.py`, `classifiers/train/risk-cues.yaml`.)

Each pattern is a regular expression in the common subset of Python `re` and Rust's `regex` (Polars
evaluates them over a whole batch of turns at once: no look-arounds, no back-references). A pattern change
changes a signal: bump the version of the producer that reads it (`curate/stages/signals.py`,
`curate/stages/dialogue.py`). Written from reading SMILECHAT and EmoLLM supporter turns and from
`classifiers/annotations/dialogue-quality-guide.md` and `risk-response-guide.md`.
"""

from __future__ import annotations

# A supporter turn's first clause (up to the first ，。！？；…: or newline) that announces empathy, thanks or
# closes instead of answering: 我理解你的感受…, 听到你…我很…, 看了你的描述…, 不客气…, 很高兴能帮到你…
CLAUSE_END = r"[，,。！!？?；;…：:\n]"
OPENING = (
    r"^(我(能|很|非常|完全|真的|十分|也)?(能够)?(理解|明白|了解|感受到|体会到|听到)"
    r"|(很|非常|完全|十分)?(理解|明白)你"
    r"|听(到|了|起来|说)"
    r"|看(到|了|完)(了)?你(的|所)"
    r"|(感谢|谢谢)你(的|对我)"
    r"|你的(担心|担忧|感受|困扰|心情|顾虑|焦虑)(是|很|完全|非常)*(可以理解|正常|理解)"
    r"|不(用)?客气|很高兴|非常高兴|首先|亲爱的|你好|您好)"
)
# An AI assistant speaking as one, or refusing: 作为一个AI…, 我是一个语言模型…, 很抱歉，我无法…
AI_BOILERPLATE = (
    r"作为(一个|一名)?(AI|ai|Ai|人工智能|语言模型|AI助手|智能助手|虚拟助手|机器人|聊天机器人)"
    r"|我(只)?是(一个|一名)?(AI|ai|人工智能|语言模型|AI助手|智能助手|虚拟助手|聊天机器人|机器人)"
    r"|很抱歉[，,]?(但)?我(无法|不能)|我没有(个人的?)?(感情|情感|经历|身体)"
)
# Stock encouragement that fits any seeker: 加油, 相信自己, 你并不孤单, 一切都会好起来的, 祝你好运, 我会一直支持你
SLOGAN = (
    r"加油|相信自己|你(并)?不(是)?孤单|不是一个人在战斗|一切都会好起来|会越来越好|你一定(能|可以|会)"
    r"|你(是)?最棒|你很棒|棒棒|祝你好运|祝福你|我会一直(在|支持|陪)"
)
# The turn asks something: a question mark, or a clause ending in 吗/呢
QUESTION = r"[？?]|[吗呢](" + CLAUSE_END + r"|$)"

# A supporter turn that responds to risk (risk-response-guide.md): asks about safety or the thoughts, names
# them, gives a hotline or emergency route, or urges professional or immediate help.
RISK_RESPONSE = (
    r"(自杀|轻生|伤害自己|结束(自己的?)?生命|想死|不想活|自残)(的)?(想法|念头|计划|冲动|行为)"
    r"|(有没有|是否|有过)(想过)?(伤害自己|自杀|轻生|结束生命)|(你)?(现在)?(是否)?安全(吗)?[？?]"
    r"|热线|希望24|12356|400-161-9995|010-82951332|急诊|(^|[^0-9])(120|110)([^0-9]|$)|报警"
    r"|精神科|心理医生|医院|(专业的?)(帮助|人士|心理|医生|咨询|机构)|心理咨询师?|不要一个人"
)

# An open question or an invitation to say more (什么, 怎么, 为什么, 哪些, 说说…), counted per match: the rubric's
# "questions that help the seeker say more", which a yes/no 吗 question is not
OPEN_QUESTION = r"什么|怎么|如何|为什么|哪些|哪里|哪个|多少|说说|讲讲|谈谈|分享|描述"
# A stock closing that fits any dialogue: 不客气, 很高兴能帮到你, 祝你…, 希望我的建议…
CLOSING = r"不客气|很高兴(能)?帮|祝你|希望(我的|这些)"
# Advice lectured as a list: 首先…其次…, 第一…, numbered lines
ADVICE_LIST = r"首先|其次|第一|(^|\n)\s*\d[.、．]"
# Function characters left out of a supporter turn's content bigrams (a bigram holding one is not content)
FUNCTION_CHARS = "的了是我你他她它们在有不也就都很吗呢吧啊这那个么什和与及或而且但如果因为所以对会能要可以一些自己"
