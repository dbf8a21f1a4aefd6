"""English and Russian stop words: function words and question fillers that carry no topic."""

from __future__ import annotations

_ENGLISH = """
a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing done down during each either else ever few
for from further get gets got had has have having he her here hers herself him himself his how i
if in into is it its itself just let lets me might more most much must my myself neither no nor
not now of off on once only or other ought our ours ourselves out over own per same shall she
should so some such than that the their theirs them themselves then there these they this those
through thus to too under until up upon us very via was we were what whatever when where whether
which while who whom whose why will with within without would yet you your yours yourself
yourselves
please tell explain describe show give say said know known let's kindly briefly year years
list mention mentioned mentions
"""

# Russian function words, written with е for ё (the analyzer folds ё to е first).
_RUSSIAN = """
а без более бы был была были было быть в вам вас весь во вот все всего всех вы где да даже для
до его ее если есть еще же за здесь и из или им их к как какая какие каким каких какой каков
когда кого ком кто куда ли либо между меня мне много может можно мой мы на над надо не него нее
нет ни них но ну о об обо однако он она они оно от очень по под после потому почему при про с
со так также такой там те тем то того тоже той только том ты у уже хотя чего чей чем что чтобы
чье чья эта эти это этого этой этом этот я
пожалуйста расскажи расскажите объясни объясните скажи скажите опиши опишите покажи покажите
сколько каков какова каковы является являются являлся являлась являлось год года году лет годы
перечисли перечислите назови назовите
какое какого каком какому какую какими каково
который которая которое которые которого которой котором которому которую которым которыми которых
кем кому чему чём чьи чьё чьего
"""

ENGLISH: frozenset[str] = frozenset(_ENGLISH.split())
RUSSIAN: frozenset[str] = frozenset(_RUSSIAN.split())
ALL: frozenset[str] = ENGLISH | RUSSIAN
