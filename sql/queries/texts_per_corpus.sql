-- how many texts each source wrote for each corpus
select corpus, source, count(*) as n_texts
from texts
group by all
order by all
