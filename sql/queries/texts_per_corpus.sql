-- how many texts each generator wrote for each corpus
select corpus, generator, count(*) as n_texts
from texts
group by all
order by all
